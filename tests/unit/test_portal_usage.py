"""The Usage page: the plan's limits and what the current organization uses, nothing of others."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import get_or_create_user
from hosting.models import Host, VolumeUsage
from sites.models import Site

pytestmark = pytest.mark.django_db


def _client(who: str) -> Client:
    client = Client()
    client.force_login(get_or_create_user(f"{who}@example.com"))
    return client


def test_it_shows_sites_used_of_allowed_and_the_plan(world):
    page = _client("viewer").get("/usage/").content.decode()
    plan = world["org"].plan
    assert f"<strong>1</strong> of {plan.max_sites} sites used" in page
    assert f"{plan.disk_mb} MB" in page and "shop" in page and "gshop" not in page


def test_the_outsider_sees_their_own_organization_only(world):
    page = _client("outsider").get("/usage/").content.decode()
    assert "gshop" in page and ">shop<" not in page


def test_at_the_limit_it_says_what_to_do(world):
    plan = world["org"].plan
    plan.max_sites = 1
    plan.save()
    assert "reached your plan's limit" in _client("owner").get("/usage/").content.decode()


def test_anonymous_users_are_sent_to_log_in(world):
    response = Client().get("/usage/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_its_query_count_does_not_grow_with_sites(world):
    org = world["org"]
    plan = org.plan
    plan.max_sites = 100
    plan.save()

    def count() -> int:
        client = _client("owner")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/usage/").status_code == 200
        return len(queries)

    Site.objects.bulk_create([Site(name=f"few-{i}", organization=org, plan=plan) for i in range(3)])
    few = count()
    Site.objects.bulk_create([Site(name=f"many-{i}", organization=org, plan=plan) for i in range(20)])
    assert count() == few


def test_it_shows_the_disk_the_agent_measured(world):
    site = world["site"]
    VolumeUsage.objects.create(host=Host.objects.get(name="h1"), volume=site.uuid.hex, used_bytes=3 * 2**20,
                               size_bytes=site.plan.disk_mb * 2**20, measured_at=timezone.now())
    page = _client("owner").get("/usage/").content.decode()
    assert "3.0\xa0MB of" in page, page
