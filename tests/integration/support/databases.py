"""Managed databases in integration tests: attach one through the API and wait until it is ready,
and remove the test platform's database servers when a module that made them ends."""
from __future__ import annotations

import pytest

from hosting import dbserver
from tests.integration.support.deploying import api
from tests.integration.support.processes import wait_for

HOST = "platform-test"


@pytest.fixture(scope="module")
def database_servers_removed_afterwards(engine):
    """The test platform's database servers and their networks go when the module ends (the daemon is shared)."""
    yield
    for kind in dbserver.KINDS.values():
        engine.remove(dbserver.server_name(HOST, kind))
        for network in engine.networks({"hosting.managed": "true", **dbserver.network_labels(HOST, kind=kind)}):
            engine.remove_network_with_members(network)


def database_state(platform, who, site: str, engine: str) -> str:
    body = api(platform, who, "GET", f"sites/{site}/databases/{engine}/").json()
    assert body.get("state") != "failed", body
    return body.get("state", "")


def attach_database(platform, who, site: str, engine: str, timeout: float = 180) -> None:
    """Attach a database of `engine` to `site` through the API and wait until the agent made it."""
    attached = api(platform, who, "POST", f"sites/{site}/databases/", json={"engine": engine})
    assert attached.status_code == 202, attached.text
    wait_for(lambda: database_state(platform, who, site, engine) == "ready" or None, timeout, "the database to be ready")
