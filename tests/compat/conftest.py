"""Fixtures: one real Stencil server per test session, and the three Python clients."""

from __future__ import annotations

import pytest

from clients import CLIENT_KINDS, make_client
from stencil_server import Server


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
