"""A server of one's own per test, for tests that SIGKILL and restart it (test_restart.py,
test_copy.py): import `srv` into the test module to use it as a fixture."""

from __future__ import annotations

import pytest

from stencil_server import Server


@pytest.fixture
def srv(tmp_path):
    server = Server(tmp_path / "srv")
    server.base.mkdir()
    server.start()
    try:
        yield server
    finally:
        try:
            code = server.stop() if server.proc and server.proc.poll() is None else 0
        finally:
            server.kill()
            server.purge_data()  # gigabytes of random data: do not leave them in the basetemp
        assert code == 0, f"stencil exited with status {code} after SIGTERM\n{server.logs()}"
