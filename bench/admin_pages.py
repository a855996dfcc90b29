"""The staff site's pages at 10,000 sites and 100,000 deployments: server time and queries of each.

Imported once Django is set up (bench/admin.py). The pages: the dashboard, the list page of every
ModelAdmin registered on the staff site (the same list tests/unit/test_admin_query_counts.py holds
to constant queries), the searches and filters staff use most, the change pages of a busy site and
organization, and /metrics. Each is requested by a superuser with Django's test Client in the same
process: the time is the server's (middleware, view, queries, template), without a network.
"""
from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization
from bench.report import PageTime, percentile
from sites.models import Site
from tests.staff_users import client_of, superuser


def pages() -> dict[str, str]:
    """{name: URL} of every page measured; the change pages name the busiest site and organization."""
    found = {"dashboard": reverse("admin:index")}
    for model in admin.site._registry:
        meta = model._meta
        found[f"{meta.label} list"] = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    organization = Organization.objects.order_by("pk").first()
    site = Site.objects.filter(organization=organization).order_by("pk").first()
    deployments = reverse("admin:sites_deployment_changelist")
    found.update({
        "sites.Site search": reverse("admin:sites_site_changelist") + f"?q={site.name}",
        "sites.Deployment failed": deployments + "?state__exact=failed",
        "sites.Deployment search by site name": deployments + f"?q={site.name}",
        "sites.Deployment of a site": deployments + f"?site__id__exact={site.pk}",
        "accounts.AuditEvent search": reverse("admin:accounts_auditevent_changelist") + f"?q={organization.slug}",
        "accounts.AuditEvent of an organization": reverse("admin:accounts_auditevent_changelist")
        + f"?organization__id__exact={organization.pk}",
        "sites.Site change": reverse("admin:sites_site_change", args=[site.pk]),
        "accounts.Organization change": reverse("admin:accounts_organization_change", args=[organization.pk]),
        "/metrics": reverse("metrics"),
    })
    return found


def staff_client() -> Client:
    client = client_of(superuser("bench-staff"))
    client.defaults["HTTP_HOST"] = "127.0.0.1"
    return client


def scraper() -> Client:
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")


def client_for(name: str, staff: Client) -> Client:
    return scraper() if name == "/metrics" else staff


def queries_of(client: Client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        status = client.get(url).status_code
    return status, len(captured.captured_queries)


def count_queries(urls: dict[str, str], staff: Client) -> dict[str, int]:
    """The queries of each page (after a warm-up request), e.g. on the small platform."""
    counts = {}
    for name, url in urls.items():
        client = client_for(name, staff)
        client.get(url)
        counts[name] = queries_of(client, url)[1]
    return counts


def measure(urls: dict[str, str], staff: Client, small: dict[str, int], runs: int) -> list[PageTime]:
    results = []
    for name, url in urls.items():
        client = client_for(name, staff)
        for _ in range(2):  # warm: the first requests fill per-process caches (content types, the session)
            client.get(url)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        status, queries = queries_of(client, url)
        results.append(PageTime(name, url, status, statistics.median(times), percentile(times, 95), queries,
                                small.get(name)))
    return results
