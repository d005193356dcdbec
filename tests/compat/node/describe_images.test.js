'use strict';
// DescribeRegions and DescribeImages through @alicloud/ecs20140526, signed with V3 (the default)
// and with V1 (signatureAlgorithm 'v2').

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { REGIONS, Ecs, startServer, makeClient, catalog } = require('./helpers');

const HZ = 'cn-hangzhou';
const cat = catalog();

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal(await server.stop(), 0); });

const ids = (images) => images.map((i) => i.imageId);
const sorted = (xs) => [...xs].sort();

for (const signature of ['v3', 'v1']) {
  describe(`Node SDK ${signature}`, () => {
    let client;
    before(() => { client = makeClient(server.endpoint, signature); });

    async function describeImages(params) {
      const resp = await client.describeImages(new Ecs.DescribeImagesRequest({ regionId: HZ, ...params }));
      assert.equal(resp.statusCode, 200);
      assert.ok(resp.body.requestId);
      assert.ok(Array.isArray(resp.body.images.image), 'Images.Image must deserialise to an array');
      return resp.body;
    }
    async function describeAll(params) {
      const body = await describeImages({ pageSize: 100, ...params });
      assert.equal(body.totalCount, body.images.image.length);
      return body.images.image;
    }

    it('DescribeRegions lists the configured regions', async () => {
      const resp = await client.describeRegions(new Ecs.DescribeRegionsRequest({}));
      assert.equal(resp.statusCode, 200);
      const regions = resp.body.regions.region;
      assert.deepEqual(sorted(regions.map((r) => r.regionId)), sorted(Object.keys(REGIONS)));
      for (const r of regions) {
        assert.equal(r.localName, REGIONS[r.regionId]);
        assert.equal(r.status, 'available');
        // The endpoint a client can reach the region at: the address the server listens on.
        assert.equal(r.regionEndpoint, server.endpoint);
      }
    });

    it('pages through the system images with PageSize=5', async () => {
      const expected = cat.visible(HZ).map((i) => i.id);
      const pages = Math.ceil(expected.length / 5);
      assert.ok(pages >= 3);
      const seen = [];
      for (let page = 1; page <= pages; page++) {
        const body = await describeImages({ imageOwnerAlias: 'system', pageSize: 5, pageNumber: page });
        assert.equal(body.totalCount, expected.length);
        assert.equal(body.pageNumber, page);
        assert.equal(body.pageSize, 5);
        assert.equal(body.regionId, HZ);
        const want = page < pages ? 5 : expected.length - 5 * (pages - 1);
        assert.equal(body.images.image.length, want, `page ${page}`);
        seen.push(...ids(body.images.image));
      }
      assert.equal(new Set(seen).size, seen.length, 'an image appeared on two pages');
      assert.deepEqual(sorted(seen), sorted(expected));
      const past = await describeImages({ imageOwnerAlias: 'system', pageSize: 5, pageNumber: pages + 1 });
      assert.deepEqual(past.images.image, []);
      assert.equal(past.totalCount, expected.length);
    });

    it('an ImageId returns the catalog entry with its values', async () => {
      const id = 'centos_7_9_x64_20G_alibase_20240321.vhd';
      const c = cat.image(id);
      const [img, ...rest] = await describeAll({ imageId: id });
      assert.deepEqual(rest, []);
      assert.equal(img.imageId, id);
      assert.equal(img.imageName, c.name);
      assert.equal(img.imageFamily, 'acs:centos_7_9_x64');
      assert.equal(img.OSName, c.os_name);
      assert.equal(img.OSNameEn, c.os_name_en);
      assert.equal(img.OSType, 'linux');
      assert.equal(img.platform, 'CentOS');
      assert.equal(img.architecture, 'x86_64');
      assert.equal(img.bootMode, 'BIOS');
      assert.equal(img.size, c.size_gib);
      assert.equal(img.status, 'Available');
      assert.equal(img.progress, '100%');
      assert.equal(img.creationTime, '2024-03-22T02:10:09Z');
      assert.equal(img.imageOwnerAlias, 'system');
      assert.equal(img.isSupportIoOptimized, true);
      assert.equal(img.isSupportCloudinit, true);
      assert.equal(img.features.nvmeSupport, 'supported');
    });

    it('every system image carries its catalog values', async () => {
      const images = await describeAll({ imageOwnerAlias: 'system' });
      assert.equal(images.length, cat.visible(HZ).length);
      for (const img of images) {
        const c = cat.image(img.imageId);
        assert.deepEqual(
          [img.imageName, img.imageFamily, img.architecture, img.OSType, img.platform, img.bootMode,
            img.size, img.creationTime, img.features?.nvmeSupport, img.imageVersion ?? '', img.description ?? ''],
          [c.name, c.family, c.architecture, c.osType, c.platform, c.boot_mode,
            c.size_gib, c.created, c.nvme_support, c.version ?? '', c.description ?? ''],
          img.imageId,
        );
      }
    });

    it('an unknown ImageId gives an empty list', async () => {
      const body = await describeImages({ imageId: 'm-bp1doesnotexist0000' });
      assert.equal(body.totalCount, 0);
      assert.deepEqual(body.images.image, []);
    });

    it('ImageName, ImageFamily, OSType and Architecture filters', async () => {
      const name = 'ubuntu_22_04_arm64_20G_alibase_20230712.vhd';
      assert.deepEqual(ids(await describeAll({ imageName: name })), [name]);
      assert.deepEqual(sorted(ids(await describeAll({ imageFamily: 'acs:debian_12_x64' }))),
        ['debian_12_2_x64_20G_alibase_20231128.vhd', 'debian_12_5_x64_20G_alibase_20240325.vhd']);
      const windows = cat.visible(HZ).filter((i) => i.osType === 'windows').map((i) => i.id);
      assert.ok(windows.length > 5);
      assert.deepEqual(sorted(ids(await describeAll({ OSType: 'windows' }))), sorted(windows));
      const arm = cat.visible(HZ).filter((i) => i.architecture === 'arm64').map((i) => i.id);
      assert.equal(arm.length, 3);
      assert.deepEqual(sorted(ids(await describeAll({ architecture: 'arm64' }))), sorted(arm));
    });

    it('InstanceType=ecs.g7.xlarge hides i386 and arm64 images', async () => {
      const images = await describeAll({ imageOwnerAlias: 'system', instanceType: 'ecs.g7.xlarge' });
      const archs = new Set(images.map((i) => i.architecture));
      assert.ok(!archs.has('i386') && !archs.has('arm64'));
      const ty = cat.type('ecs.g7.xlarge');
      assert.deepEqual(sorted(ids(images)),
        sorted(cat.visible(HZ).filter((i) => cat.compatible(i, ty)).map((i) => i.id)));
      assert.deepEqual(sorted(ids(images)),
        sorted(cat.visible(HZ).filter((i) => i.architecture === 'x86_64').map((i) => i.id)));
    });

    it('Status defaults to Available; ALL shows the Deprecated ones', async () => {
      const deprecated = cat.images.filter((i) => i.status === 'Deprecated').map((i) => i.id);
      assert.equal(deprecated.length, 2);
      const def = ids(await describeAll({ imageOwnerAlias: 'system' }));
      assert.ok(deprecated.every((d) => !def.includes(d)));
      const all = await describeAll({ imageOwnerAlias: 'system', status: 'ALL' });
      assert.deepEqual(sorted(ids(all)),
        sorted(cat.images.filter((i) => i.regionList.includes(HZ)).map((i) => i.id)));
      assert.deepEqual(sorted(ids(await describeAll({ imageOwnerAlias: 'system', status: 'Deprecated' }))),
        sorted(deprecated));
    });

    it('Tag.N and Filter.N creation-time bounds', async () => {
      const tagged = await describeImages({ tag: [new Ecs.DescribeImagesRequestTag({ key: 'env', value: 'prod' })] });
      assert.equal(tagged.totalCount, 0);
      const images = await describeAll({
        imageOwnerAlias: 'system',
        filter: [
          new Ecs.DescribeImagesRequestFilter({ key: 'CreationStartTime', value: '2024-01-01T00:00Z' }),
          new Ecs.DescribeImagesRequestFilter({ key: 'CreationEndTime', value: '2024-03-01T00:00Z' }),
        ],
      });
      const expected = cat.visible(HZ)
        .filter((i) => i.created >= '2024-01-01' && i.created < '2024-03-01').map((i) => i.id);
      assert.ok(expected.length >= 3);
      assert.deepEqual(sorted(ids(images)), sorted(expected));
    });

    it('special characters in parameters survive signing', async () => {
      for (const name of ["名字 x+y/z!'()*~", 'a&b=c%20d;e', '  spaced  out  ']) {
        const body = await describeImages({ imageName: name });
        assert.equal(body.totalCount, 0, name);
        assert.deepEqual(body.images.image, []);
      }
    });

    it('boolean filters sent as true/false', async () => {
      const all = cat.visible(HZ).map((i) => i.id);
      assert.deepEqual(sorted(ids(await describeAll({ imageOwnerAlias: 'system', isSupportIoOptimized: true }))),
        sorted(cat.visible(HZ).filter((i) => i.is_support_io_optimized ?? true).map((i) => i.id)));
      assert.equal((await describeAll({ imageOwnerAlias: 'system', isSupportIoOptimized: true })).length, all.length);
      assert.deepEqual(ids(await describeAll({ imageOwnerAlias: 'system', isSupportCloudinit: false })),
        cat.visible(HZ).filter((i) => !(i.is_support_cloudinit ?? true)).map((i) => i.id));
    });

    it('DryRun=true raises DryRunOperation', async () => {
      await assert.rejects(describeImages({ dryRun: true }), (e) => {
        assert.equal(e.code, 'DryRunOperation');
        assert.equal(e.statusCode, 400);
        return true;
      });
    });
  });
}
