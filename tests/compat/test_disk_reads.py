"""What an NBD read of a disk checks (`[server] verify_disk_reads`, README "Configuration").

Every read checks the CRC-32 of a chunk's stored bytes; that catches a damaged blob in both
modes (the chunk store's own tests flip bytes). What only the digest catches is a well-formed
blob holding other bytes than the ones its name was computed from. These tests forge one,
with a correct CRC, under the name of a chunk of an imported image, and read the disk made
from that image over NBD: with `verify_disk_reads = true` the read fails; with the default the
forged bytes are served, which is the trust the default places in blobs written under their
digest (and `stencil admin verify` still names the forged blob).
"""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from clients import make_client
from instance_helpers import run_one, system_disk
from lifecycle_helpers import HZ, import_and_wait, mapping, put_object
from stencil_server import Server, serving

HEADER = 24  # magic 8, version 2, flags 2, CRC 4, plaintext length 4, rest length 4
DATA = 6 << 20  # random bytes at the start of the image: chunks stored as plain blobs


def forge_a_plain_blob(chunk_dir: Path) -> tuple[Path, bytes]:
    """Rewrites one plain blob's body with other bytes and a matching CRC; returns its path and
    the bytes it now holds."""
    for path in sorted(p for p in (chunk_dir / "chunks").rglob("*") if p.is_file()):
        blob = path.read_bytes()
        if len(blob) < HEADER or blob[:8] != b"STNCBLOB":
            continue
        flags, _, plain_len, rest_len = struct.unpack_from("<HIII", blob, 10)
        if flags == 0 and plain_len == rest_len > 0:
            body = bytes([0xEE]) * plain_len
            header = blob[:12] + struct.pack("<I", zlib.crc32(body)) + blob[16:HEADER]
            path.write_bytes(header + body)
            return path, body
    raise AssertionError(f"no plain blob under {chunk_dir}")


def read_head(server: Server, disk_id: str, out: Path) -> subprocess.CompletedProcess:
    """The first DATA bytes of the disk over NBD into `out`."""
    return subprocess.run(
        ["qemu-img", "dd", "-f", "raw", "-O", "raw", "bs=1M", f"count={DATA >> 20}",
         f"if={server.nbd_url(disk_id)}", f"of={out}"],
        capture_output=True, text=True, check=False)


@pytest.mark.parametrize("verify", [False, True], ids=["default", "verify_disk_reads"])
def test_a_forged_chunk_is_refused_only_when_disk_reads_verify_digests(tmp_path, verify):
    srv = Server(tmp_path / "srv", nbd=True,
                 server_extra=f"verify_disk_reads = {str(verify).lower()}")
    srv.base.mkdir()
    with serving(srv):
        api = make_client("v3", srv.endpoint)
        raw = tmp_path / "random.raw"
        with open(raw, "wb") as f:
            f.write(os.urandom(DATA))
            f.truncate(64 << 20)
        image = import_and_wait(api, [mapping(put_object(srv, raw), "RAW")])
        iid = run_one(api, image["ImageId"])
        disk_id = system_disk(api, iid)["DiskId"]
        good = tmp_path / "good.raw"
        assert read_head(srv, disk_id, good).returncode == 0
        assert good.read_bytes() == raw.read_bytes()[:DATA]

        _, forged = forge_a_plain_blob(srv.chunk_dir(HZ))
        # A fresh disk: the first one's reader may still hold the chunk decoded.
        fresh = system_disk(api, run_one(api, image["ImageId"]))["DiskId"]
        got = tmp_path / "got.raw"
        r = read_head(srv, fresh, got)
        if verify:
            assert r.returncode != 0, "a digest-checking read must refuse the forged chunk"
            assert "Input/output error" in r.stderr, r.stderr
        else:
            assert r.returncode == 0, r.stderr
            head = got.read_bytes()
            assert head != raw.read_bytes()[:DATA] and forged in head
