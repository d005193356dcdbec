'use strict';
// Shared by the Node compatibility tests: start a real `stencil serve` from a generated config
// in a temporary directory, build official SDK clients for it, and read the shipped catalogs
// (data/*.toml) to know what the server must answer.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');

const TOML = require('smol-toml');
const Ecs = require('@alicloud/ecs20140526');
const OpenApi = require('@alicloud/openapi-client');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const REGIONS = {
  'cn-hangzhou': 'China (Hangzhou)',
  'cn-shanghai': 'China (Shanghai)',
  'cn-beijing': 'China (Beijing)',
};
const ACCOUNTS = [
  ['1234567890123456', 'testak', 'testsecret'],
  ['2345678901234567', 'otherak', 'othersecret'],
];
const BANNER = /^Stencil is serving the ECS API \(2014-05-26\) at http:\/\/(\S+)\/\s*$/;

function stencilBin() {
  // $STENCIL_BIN (relative to the current directory), else target/release/stencil of the repo.
  const env = process.env.STENCIL_BIN;
  const p = env ? path.resolve(env) : path.join(REPO_ROOT, 'target', 'release', 'stencil');
  if (!fs.existsSync(p)) {
    throw new Error(`stencil binary not found at ${p}: build it with ` +
      '`cargo build --release -p stencil-cli` or set STENCIL_BIN');
  }
  return p;
}

function configText(base) {
  const q = (s) => JSON.stringify(String(s)); // a TOML basic string
  const out = [
    '[server]', 'listen = "127.0.0.1:0"', 'nbd_listen = ""', `data_dir = ${q(path.join(base, 'data'))}`, '',
    '[metadata]', `url = ${q('sqlite://' + path.join(base, 'meta.db'))}`, '',
  ];
  for (const [id, name] of Object.entries(REGIONS)) {
    out.push('[[region]]', `id = ${q(id)}`, `name = ${q(name)}`,
      `chunk_store = ${q('file://' + path.join(base, 'chunks', id))}`, '',
      '[[bucket]]', `name = ${q('stencil-' + id)}`, `region = ${q(id)}`,
      `url = ${q('file://' + path.join(base, 'buckets', id))}`, '');
  }
  for (const [id, ak, secret] of ACCOUNTS) {
    out.push('[[account]]', `id = ${q(id)}`, `access_key_id = ${q(ak)}`,
      `access_key_secret = ${q(secret)}`, '');
  }
  return out.join('\n');
}

// Starts a server; resolves to { endpoint, stop() } where stop() sends SIGTERM and resolves to
// the exit code (it must be 0).
async function startServer() {
  const bin = stencilBin();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'stencil-node-'));
  const cfg = path.join(base, 'stencil.toml');
  fs.writeFileSync(cfg, configText(base));
  const stdoutPath = path.join(base, 'stdout.log');
  const stderrPath = path.join(base, 'stderr.log');
  const out = fs.openSync(stdoutPath, 'w');
  const err = fs.openSync(stderrPath, 'w');
  const child = spawn(bin, ['serve', '--config', cfg], {
    cwd: base, stdio: ['ignore', out, err],
  });
  fs.closeSync(out);
  fs.closeSync(err);
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const logs = () => `--- stdout ---\n${fs.readFileSync(stdoutPath, 'utf8')}` +
    `--- stderr ---\n${fs.readFileSync(stderrPath, 'utf8')}`;
  const deadline = Date.now() + 30000;
  let endpoint = null;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(stdoutPath, 'utf8');
    if (text.includes('\n')) {
      const first = text.split('\n', 1)[0];
      const m = BANNER.exec(first);
      if (!m) {
        child.kill('SIGKILL');
        throw new Error(`unexpected first line ${JSON.stringify(first)}\n${logs()}`);
      }
      endpoint = m[1];
      break;
    }
    if (exited) throw new Error(`stencil exited with ${JSON.stringify(exited)} before serving\n${logs()}`);
    await sleep(50);
  }
  if (!endpoint) {
    child.kill('SIGKILL');
    throw new Error(`stencil did not start within 30 s\n${logs()}`);
  }
  return {
    endpoint,
    base,
    logs,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      const { code, signal } = await exit;
      clearTimeout(timer);
      const log = logs();
      fs.rmSync(base, { recursive: true, force: true });
      if (code !== 0) throw new Error(`stencil exited with ${code} (signal ${signal}) after SIGTERM\n${log}`);
      return code;
    },
  };
}

// An official client. signature: 'v3' (the default ACS3-HMAC-SHA256) or 'v1' (HMAC-SHA1, which
// the SDK calls signatureAlgorithm 'v2').
function makeClient(endpoint, signature = 'v3', ak = 'testak', secret = 'testsecret') {
  const config = new OpenApi.Config({
    accessKeyId: ak,
    accessKeySecret: secret,
    endpoint,
    protocol: 'http',
    regionId: 'cn-hangzhou',
    connectTimeout: 5000,
    readTimeout: 20000,
  });
  if (signature === 'v1') config.signatureAlgorithm = 'v2';
  return new Ecs.default(config);
}

// ---- The catalogs and the documented compatibility rules ----

function loadToml(name) {
  return TOML.parse(fs.readFileSync(path.join(REPO_ROOT, 'data', name), 'utf8'));
}

const iso = (d) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');

function catalog() {
  const images = loadToml('public-images.toml').image.map((i) => ({
    ...i,
    name: i.name ?? i.id,
    status: i.status ?? 'Available',
    osType: i.os_type ?? (i.platform.startsWith('Windows') ? 'windows' : 'linux'),
    created: iso(i.creation_time),
    regionList: i.regions ?? Object.keys(REGIONS),
  }));
  const types = loadToml('instance-types.toml').instance_type.map((t) => ({
    ...t, memory: Number(t.memory_gib),
  }));
  const image = (id) => {
    const found = images.filter((i) => i.id === id);
    if (found.length !== 1) throw new Error(`catalog has ${found.length} images ${id}`);
    return found[0];
  };
  const type = (id) => {
    const found = types.filter((t) => t.id === id);
    if (found.length !== 1) throw new Error(`catalog has ${found.length} types ${id}`);
    return found[0];
  };
  const visible = (region, statuses = ['Available']) =>
    images.filter((i) => i.regionList.includes(region) && statuses.includes(i.status));
  const newestInFamily = (region, family) => {
    const c = visible(region).filter((i) => i.family === family);
    c.sort((a, b) => (a.created < b.created ? 1 : -1));
    return c[0] ?? null;
  };
  const compatible = (img, ty) => {
    const archOk = img.architecture === ty.architecture ||
      (img.architecture === 'i386' && ty.architecture === 'x86_64');
    if (!archOk) return false;
    if (img.architecture === 'i386' && ty.memory >= 4) return false;
    if (img.osType === 'windows' && ty.memory < 1) return false;
    if (img.boot_mode === 'UEFI-Preferred' ? ty.boot_modes.length === 0 : !ty.boot_modes.includes(img.boot_mode)) return false;
    if (ty.nvme === 'required' && img.nvme_support !== 'supported') return false;
    return true;
  };
  const supportedTypes = (imageId) => types.filter((t) => compatible(image(imageId), t));
  return { images, types, image, type, visible, newestInFamily, supportedTypes, compatible };
}

module.exports = { REGIONS, Ecs, startServer, makeClient, catalog, iso };
