"""No staff page's query count grows with the rows it shows. Every ModelAdmin registered on the staff
site (so an admin added later is measured as soon as it is registered) has its list page rendered for
a superuser on a small platform and again on one with many times the organizations, sites,
deployments, releases, domains, audit events, hosts, instances, routes, certificates and tickets
(tests/admin_data.py); the queries must be as many. So must the dashboard's, and the change pages
of a busy site and organization, whose size must not grow either (a long history is linked, not
listed). (`make bench` times the same pages at 10,000 sites and 100,000 deployments: bench/admin.py.)"""
from __future__ import annotations

import re
from collections import Counter

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization
from sites.models import Site
from staff.admin import members, organizations
from tests.admin_data import grow_platform
from tests.staff_users import client_of, superuser

pytestmark = pytest.mark.django_db

SMALL = (2, 2, 3)    # organizations, sites of each, deployments of each site
LARGE = (8, 12, 30)  # 4 times the organizations, 24 times the sites, 240 times the deployments
# Registered models whose rows the seed leaves as they are, and why that is right.
FIXED_SIZE = {
    "proxy.EdgeState": "one row: how the last apply went",
    "auth.Group": "the staff roles' groups, a handful",
}


def admin_pages() -> dict[str, str]:
    """The dashboard and each registered model's list page: {name: URL}."""
    pages = {"dashboard": reverse("admin:index")}
    for model in admin.site._registry:
        meta = model._meta
        pages[meta.label] = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    return pages


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:500])
    return [query["sql"] for query in captured.captured_queries]


def _differences(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """Each page whose count differs, with its queries that repeat (numbers masked) and how often."""
    found = []
    for name in before:
        if len(after[name]) != len(before[name]):
            shapes = Counter(re.sub(r"\b\d+\b", "N", sql) for sql in after[name])
            repeated = [f"{n} x {sql[:300]}" for sql, n in shapes.most_common() if n > 1]
            found.append(f"{name}: {len(before[name])} queries with few rows, {len(after[name])} with many; "
                         "repeated:\n  " + "\n  ".join(repeated))
    return found


@pytest.fixture
def staff_client():
    return client_of(superuser())


def test_it_renders_every_admin_list_page_with_as_many_queries_for_many_times_the_rows(staff_client):
    pages = admin_pages()
    grow_platform(*SMALL)
    for url in pages.values():
        staff_client.get(url)  # the first request warms what is cached per process (content types)
    small = {name: _queries(staff_client, url) for name, url in pages.items()}
    grow_platform(*LARGE)
    large = {name: _queries(staff_client, url) for name, url in pages.items()}
    assert not _differences(small, large), "\n\n".join(_differences(small, large))


def test_the_seed_grows_the_rows_of_every_admin_list_page():
    """The measurement above means something only if each page's rows did grow: an admin of a new
    model needs its rows in tests/admin_data.py (or a reason in FIXED_SIZE)."""
    models = [model for model in admin.site._registry if model._meta.label not in FIXED_SIZE]
    grow_platform(*SMALL)
    before = {model._meta.label: model._default_manager.count() for model in models}
    grow_platform(*LARGE)
    after = {model._meta.label: model._default_manager.count() for model in models}
    flat = {label: (before[label], after[label]) for label in before if after[label] < 2 * max(before[label], 1)}
    assert not flat, f"rows that tests/admin_data.py does not grow (before, after): {flat}"


def _change_pages() -> dict[str, str]:
    site = Site.objects.get(name="org-0000-site-0000")
    organization = Organization.objects.get(slug="org-0000")
    return {"site": reverse("admin:sites_site_change", args=[site.pk]),
            "organization": reverse("admin:accounts_organization_change", args=[organization.pk])}


def test_the_change_pages_of_a_busy_site_and_organization_make_as_many_queries_and_stay_as_long(staff_client,
                                                                                                   monkeypatch):
    def sizes(pages: dict[str, str]) -> dict[str, int]:
        # Measured with the organization's lists of its first sites, members and tokens bounded at
        # one: a list that is not bounded then shows as growth, though the seed's organization is small.
        with monkeypatch.context() as bounded:
            bounded.setattr(organizations, "SHOWN", 1)
            bounded.setattr(members, "INLINE_MEMBERS", 1)
            return {name: len(staff_client.get(url).content) for name, url in pages.items()}

    grow_platform(*SMALL)
    pages = _change_pages()
    for url in pages.values():
        staff_client.get(url)
    small = {name: _queries(staff_client, url) for name, url in pages.items()}
    small_size = sizes(pages)
    grow_platform(*LARGE)
    large = {name: _queries(staff_client, url) for name, url in pages.items()}
    large_size = sizes(pages)
    assert not _differences(small, large), "\n\n".join(_differences(small, large))
    # 40 times the deployments (and ten times the domains, which the site's page lists: a plan bounds
    # them) of the site; the organization's sites grow sixfold. A page that lists them whole grows by
    # that; one that shows the latest few and links to the rest grows by a few digits.
    allowed = {"site": 1.1, "organization": 1.01}
    grown = {name: (small_size[name], large_size[name]) for name in pages
             if large_size[name] > small_size[name] * allowed[name]}
    assert not grown, f"pages that grow with the rows (bytes with few, with many): {grown}"
