"""The portal's pages at 200 sites and 10,000 deployments: server time and queries of each GET page.

Imported once Django is set up (bench/portal.py). Each page of the URL table (tests/portal_urls.py,
the one the authorization sweep holds the views to) is requested by the organization's owner with
Django's test Client in the same process: the time is the server's (URL resolution, middleware,
view, template), without a network or a web server in front.
"""
from __future__ import annotations

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from bench.report import PageTime, percentile
from accounts.services import add_member, create_organization, get_or_create_user, issue_token
from hosting.models import Host
from sites.models import Deployment, Site
from tests.portal_data import seed
from tests.portal_urls import PUBLIC, get_pages, targets_for


def prepare(slug: str, sites: int, deployments_per_site: int) -> Organization:
    if not Host.objects.exists():
        Host.objects.create(name="bench", cpus=2, memory_mb=24000, last_heartbeat=timezone.now())
    org = create_organization(slug, f"owner@{slug}.example.com")
    add_member(org, f"viewer@{slug}.example.com", "viewer")
    issue_token(get_or_create_user(f"owner@{slug}.example.com"))
    seed(org, sites, deployments_per_site)
    return org


def owner_client(org: Organization) -> tuple[Client, dict[str, str]]:
    owner = get_or_create_user(f"owner@{org.slug}.example.com")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    targets = targets_for(org, owner)
    return client, {name: reverse(name, kwargs=row.fill(targets)) for name, row in get_pages().items()}


def queries_of(client: Client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        status = client.get(url).status_code
    return status, len(captured.captured_queries)


def measure(big: Organization, small: Organization, runs: int) -> list[PageTime]:
    """Each page as its visitor sees it: the owner, or nobody signed in for the public pages (a
    signed-in user is only sent on from the sign-up and log-in pages)."""
    pages = get_pages()
    owner, urls = owner_client(big)
    small_owner, small_urls = owner_client(small)
    nobody = Client(HTTP_HOST="127.0.0.1")
    results = []
    for name, url in urls.items():
        public = pages[name].methods["GET"] == PUBLIC
        client, small_client = (nobody, nobody) if public else (owner, small_owner)
        for _ in range(2):  # warm: the first requests of a session fill per-process caches (and the session)
            client.get(url)
            small_client.get(small_urls[name])
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        status, queries = queries_of(client, url)
        _, queries_small = queries_of(small_client, small_urls[name])
        results.append(PageTime(name, url, status, statistics.median(times), percentile(times, 95), queries,
                                queries_small, public))
    return results


def census(org: Organization) -> str:
    sites = Site.objects.filter(organization=org).count()
    deployments = Deployment.objects.filter(site__organization=org).count()
    return f"{sites:,} sites and {deployments:,} deployments"
