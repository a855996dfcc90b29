"""GET /healthz against the real database, Redis and a real agent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hosting.models import Host
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_is_healthy_with_real_services_and_a_live_agent(admin_client, start_agent):
    name, _ = start_agent()
    wait_for(lambda: Host.objects.filter(name=name).exists(), 60, "the agent to register")

    response = admin_client.get("/healthz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["database"] == {"ok": True, "engine": "postgresql"}
    assert body["redis"] == {"ok": True}
    assert body["hosts"][name]["status"] == "up"


def test_it_answers_503_when_a_host_is_down(admin_client, start_agent):
    name, _ = start_agent()
    wait_for(lambda: Host.objects.filter(name=name).exists(), 60, "the agent to register")
    Host.objects.create(name="gone", last_heartbeat=timezone.now() - timedelta(hours=1))

    response = admin_client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["hosts"]["gone"]["status"] == "down"
    assert response.json()["hosts"][name]["status"] == "up"


def test_it_answers_503_when_redis_does_not_answer(admin_client, settings):
    Host.objects.create(name="fresh", last_heartbeat=timezone.now())
    settings.REDIS_URL = "redis+socket:///nonexistent/redis.sock"

    response = admin_client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"]["ok"] is False
