"""Fixtures: one real Stencil server per test session, and the three Python clients."""

from __future__ import annotations

import pytest

from clients import CLIENT_KINDS, make_client
from stencil_server import Server, serving


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("stencil")).start()
    try:
        yield srv
    finally:
        code = srv.stop()
        # A failure here is reported as an error of the last test that used the server.
        assert code == 0, f"stencil exited with status {code} after SIGTERM\n{srv.logs()}"


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request) -> str:
    return request.param


@pytest.fixture
def sdk(server, client_kind):
    """The SDK under test, signed with account 1234567890123456 (testak/testsecret)."""
    return make_client(client_kind, server.endpoint)


@pytest.fixture
def other_sdk(server, client_kind):
    """The same SDK, signed with the second account (otherak/othersecret)."""
    return make_client(client_kind, server.endpoint, "otherak", "othersecret")


# ---- Lifecycle tests (test_lifecycle_*.py): a server of their own, so the custom images,
# snapshots and tasks they make do not show up in the catalog tests above. ----

LIFECYCLE_KINDS = ("v3", "v1")


@pytest.fixture(scope="session")
def lc_server(tmp_path_factory):
    with serving(Server(tmp_path_factory.mktemp("stencil-lifecycle"))) as srv:
        yield srv


@pytest.fixture(params=LIFECYCLE_KINDS)
def lc_kind(request) -> str:
    return request.param


@pytest.fixture
def lc_sdk(lc_server, lc_kind):
    """The SDK under test (V3 or V1 signature) on the lifecycle server, account testak."""
    return make_client(lc_kind, lc_server.endpoint)


@pytest.fixture
def lc_other_sdk(lc_server, lc_kind):
    return make_client(lc_kind, lc_server.endpoint, "otherak", "othersecret")


@pytest.fixture
def v3(lc_server):
    """For the tests that need one client only: V3 on the lifecycle server."""
    return make_client("v3", lc_server.endpoint)


@pytest.fixture(scope="session")
def std_disk(tmp_path_factory):
    """The standard raw test disk: 64 MiB, 2 MiB of 0x5a at 1 MiB and 1 MiB of 0xc3 at 40 MiB."""
    from lifecycle_helpers import make_raw

    return make_raw(tmp_path_factory.mktemp("disks") / "std.raw")


@pytest.fixture(scope="session")
def ready_image(lc_server, std_disk, tmp_path_factory):
    """One Available custom image of the standard disk (imported from qcow2), shared by the
    tests that only read it or use its snapshot: ImageId, SnapshotId, TaskId, Raw, Name."""
    from lifecycle_helpers import disk_in, disks_of, import_and_wait, mapping, put_object, uniq

    sdk = make_client("v3", lc_server.endpoint)
    q = disk_in("QCOW2", std_disk, tmp_path_factory.mktemp("ready"))
    name = uniq("ready")
    image = import_and_wait(sdk, [mapping(put_object(lc_server, q), "QCOW2")], ImageName=name)
    return {
        "ImageId": image["ImageId"],
        "SnapshotId": disks_of(image)[0]["SnapshotId"],
        "TaskId": image["_TaskId"],
        "Raw": std_disk,
        "Name": name,
    }
