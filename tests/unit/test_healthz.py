"""The health view's logic, with Redis faked at our own interface (check_redis)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hosting import health
from hosting.models import Host

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_up(monkeypatch):
    monkeypatch.setattr(health, "check_redis", lambda url=None: {"ok": True})


def test_it_is_unhealthy_without_any_host(client, redis_up):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["hosts"] == {}


def test_it_is_healthy_when_every_part_is(client, redis_up):
    Host.objects.create(name="h1", last_heartbeat=timezone.now(), cpus=2, memory_mb=1024)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["hosts"]["h1"]["cpus"] == 2


def test_it_names_the_host_that_is_down(client, redis_up):
    Host.objects.create(name="h1", last_heartbeat=timezone.now())
    Host.objects.create(name="h2", last_heartbeat=timezone.now() - timedelta(hours=1))
    body = client.get("/healthz").json()
    assert body["status"] == "unhealthy"
    assert body["hosts"]["h2"]["status"] == "down"


def test_it_is_not_cached(client, redis_up):
    assert "no-cache" in client.get("/healthz")["Cache-Control"]
