"""The health view's logic, with Redis faked at our own interface (check_redis). Staff see every
part; anyone else sees the status alone."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import health
from hosting.models import Host

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_up(monkeypatch):
    monkeypatch.setattr(health, "check_redis", lambda url=None: {"ok": True})


def test_it_is_unhealthy_without_any_host(admin_client, redis_up):
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["hosts"] == {}


def test_it_is_healthy_when_every_part_is(admin_client, redis_up):
    Host.objects.create(name="h1", last_heartbeat=timezone.now(), cpus=2, memory_mb=1024)
    response = admin_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["hosts"]["h1"]["cpus"] == 2


def test_it_names_the_host_that_is_down(admin_client, redis_up):
    Host.objects.create(name="h1", last_heartbeat=timezone.now())
    Host.objects.create(name="h2", last_heartbeat=timezone.now() - timedelta(hours=1))
    body = admin_client.get("/healthz").json()
    assert body["status"] == "unhealthy"
    assert body["hosts"]["h2"]["status"] == "down"


def test_it_is_not_cached(client, redis_up):
    assert "no-cache" in client.get("/healthz")["Cache-Control"]


def test_it_shows_anyone_but_staff_the_status_alone(client, django_user_model, redis_up, monkeypatch):
    Host.objects.create(name="h1", last_heartbeat=timezone.now() - timedelta(hours=1), docker_version="20.10.24")
    monkeypatch.setattr(health, "check_database", lambda: {"ok": False, "engine": "postgresql", "error": "secret detail"})

    anonymous = client.get("/healthz")
    client.force_login(django_user_model.objects.create_user("customer", "c@example.com", "pw"))
    customer = client.get("/healthz")

    for response in (anonymous, customer):
        assert response.status_code == 503
        assert response.json() == {"status": "unhealthy"}
        assert b"h1" not in response.content and b"secret" not in response.content
