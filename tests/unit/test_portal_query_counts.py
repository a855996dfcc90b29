"""No portal page's query count grows with the rows it shows: every GET page of the URL table
(tests/portal_urls.py, so a new page is measured as soon as it has its row) is rendered for an owner
with a small organization and again with three times the sites, deployments, releases, env vars,
domains, audit events and members; the number of queries must be the same.
(`make bench` measures the same pages' time at 200 sites and 10,000 deployments: bench/portal.py.)"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership
from accounts.services import add_member, create_organization, get_or_create_user, issue_token
from hosting.models import Host
from sites.models import Deployment, Domain, EnvVar, Release, Run, Site, SiteBackup
from tests.portal_data import seed
from tests.portal_urls import get_pages, targets_for

pytestmark = pytest.mark.django_db

PAGES = get_pages()
SMALL, LARGE = (2, 10), (6, 30)  # (sites, deployments per site): three times the rows


@pytest.fixture
def owner_client(client):
    Host.objects.create(name="h1", cpus=4, memory_mb=16000, last_heartbeat=timezone.now())
    org = create_organization("acme", "owner@example.com")
    add_member(org, "viewer@example.com", "viewer")
    owner = get_or_create_user("owner@example.com")
    issue_token(owner)
    seed(org, *SMALL)
    client.force_login(owner)
    return client, org, owner


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code < 500, response.content[:500]
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("name", PAGES)
def test_the_page_makes_as_many_queries_for_three_times_the_rows(owner_client, name):
    client, org, owner = owner_client
    url = reverse(name, kwargs=PAGES[name].fill(targets_for(org, owner)))
    client.get(url)  # the first request of a session warms what is cached per process
    small = _queries(client, url)
    seed(org, *LARGE)
    large = _queries(client, url)
    assert len(large) == len(small), "\n".join(["queries with 3x the rows:", *large, "", "with 1x:", *small])


def test_the_seed_grows_every_kind_of_row_threefold():
    """The measurement above means something only if the rows a page shows did grow."""
    org = create_organization("acme", "owner@example.com")
    models = [Site, Deployment, Release, EnvVar, Domain, AuditEvent, Membership, Run, SiteBackup]
    seed(org, *SMALL)
    before = [model.objects.count() for model in models]
    seed(org, *LARGE)
    after = [model.objects.count() for model in models]
    assert all(a >= 3 * (b - 1) for a, b in zip(after, before)), (before, after)
    assert Deployment.objects.count() == LARGE[0] * LARGE[1]
