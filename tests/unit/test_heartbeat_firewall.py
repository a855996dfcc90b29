from __future__ import annotations

import pytest

from hosting import agent
from core.errors import PlatformError


class FakeEngine:
    def capacity(self):
        return "capacity"


@pytest.fixture(autouse=True)
def no_database(monkeypatch):
    # The heartbeat tidies its database connections after each beat; these tests use none.
    monkeypatch.setattr(agent, "close_old_connections", lambda: None)


def test_every_heartbeat_checks_the_site_firewall(monkeypatch):
    calls = []
    monkeypatch.setattr(agent.fleet, "record_heartbeat", lambda name, capacity: calls.append("beat") or True)
    monkeypatch.setattr(agent, "ensure_site_firewall", lambda: calls.append("firewall") or [])

    agent.Heartbeat("h1", FakeEngine(), 1).beat_once()

    assert calls == ["beat", "firewall"]


def test_a_firewall_that_cannot_be_applied_is_logged_and_the_heartbeat_goes_on(monkeypatch, caplog):
    def broken():
        raise PlatformError("dockerd's DOCKER-USER chain is missing")

    monkeypatch.setattr(agent.fleet, "record_heartbeat", lambda name, capacity: True)
    monkeypatch.setattr(agent, "ensure_site_firewall", broken)

    agent.Heartbeat("h1", FakeEngine(), 1).beat_once()

    assert "site firewall could not be applied" in caplog.text
