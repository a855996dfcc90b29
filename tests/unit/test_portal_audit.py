"""The audit log page: a site's changes made through the services appear with who, what and where;
it filters by site, pages by 50, is for owners and admins, and its queries do not grow with events."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import record
from accounts.models import AuditEvent
from accounts.services import get_or_create_user
from sites.services import create_site, set_env
from tests.unit.portal_clients import queries_of, signed_in

pytestmark = pytest.mark.django_db
AUDIT = reverse("accounts:audit")
ROW = re.compile(r"<tr>\s*<td><time")


def rows(response) -> int:
    return len(ROW.findall(response.content.decode()))


def test_a_sites_env_change_appears_with_who_what_and_where(world):
    set_env(world["site"], {"GREETING": "hi"}, by=get_or_create_user("developer@example.com"))
    page = signed_in("owner@example.com").get(reverse("accounts:audit"))
    assert page.status_code == 200
    html = page.content.decode()
    row = next(chunk for chunk in html.split("<tr>") if "env.set" in chunk)
    assert "developer@example.com" in row and "GREETING" in row and ">shop<" in row


def test_it_filters_by_site(world):
    other = create_site(world["org"], "blog")
    developer = get_or_create_user("developer@example.com")
    set_env(world["site"], {"IN_SHOP": "1"}, by=developer)
    set_env(other, {"IN_BLOG": "1"}, by=developer)
    admin = signed_in("admin@example.com")
    everything = admin.get(reverse("accounts:audit")).content.decode()
    assert "IN_SHOP" in everything and "IN_BLOG" in everything
    assert '<option value="shop"' in everything and '<option value="blog"' in everything
    shop = admin.get(reverse("accounts:audit"), {"site": "shop"}).content.decode()
    assert "IN_SHOP" in shop and "IN_BLOG" not in shop
    assert '<option value="shop" selected>' in shop


def test_it_marks_staff_and_the_platform(world):
    staff = get_or_create_user("support@hosting.example")
    staff.is_staff = True
    staff.save()
    record(world["org"], "site.suspend", "shop", site="shop", by=staff)
    record(world["org"], "deploy.reconcile", "shop", site="shop")
    html = signed_in("owner@example.com").get(reverse("accounts:audit")).content.decode()
    staff_row = next(chunk for chunk in html.split("<tr>") if "site.suspend" in chunk)
    assert "support@hosting.example" in staff_row and 'class="badge staff">staff<' in staff_row
    platform_row = next(chunk for chunk in html.split("<tr>") if "deploy.reconcile" in chunk)
    assert '<span class="muted">platform</span>' in platform_row


def test_it_shows_fifty_events_a_page(world):
    existing = AuditEvent.objects.filter(organization=world["org"], site_name="shop").count()  # the site's creation
    for i in range(60 - existing):
        record(world["org"], "env.set", f"K{i}", site="shop")
    owner = signed_in("owner@example.com")
    first = owner.get(reverse("accounts:audit"), {"site": "shop"})
    assert rows(first) == 50 and b"Page 1 of 2" in first.content
    assert b"?site=shop&amp;page=2" in first.content
    second = owner.get(reverse("accounts:audit"), {"site": "shop", "page": "2"})
    assert rows(second) == 10
    assert rows(owner.get(reverse("accounts:audit"), {"site": "shop", "page": "junk"})) == 50


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_developers_and_viewers_may_not_read_it(world, role):
    assert signed_in(f"{role}@example.com").get(reverse("accounts:audit")).status_code == 403


def test_an_outsider_sees_only_their_own_organizations_events(world):
    set_env(world["site"], {"SECRET_NAME": "x"}, by=get_or_create_user("owner@example.com"))
    html = signed_in("outsider@example.com").get(reverse("accounts:audit"), {"site": "shop"}).content.decode()
    assert "SECRET_NAME" not in html and '<option value="shop"' not in html


def test_the_audit_page_needs_a_sign_in(db):
    response = Client().get(reverse("accounts:audit"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_audit_page_query_count_does_not_grow_with_events(world):
    owner_user = get_or_create_user("owner@example.com")
    owner = signed_in("owner@example.com")

    def grow_to(n: int) -> None:
        for i in range(AuditEvent.objects.filter(organization=world["org"]).count(), n):
            record(world["org"], "env.set", f"K{i}", site=f"site{i % 7}", by=owner_user)

    grow_to(10)
    ten, ten_filtered = queries_of(owner, AUDIT), queries_of(owner, AUDIT, site="site1")
    grow_to(30)
    assert (queries_of(owner, AUDIT), queries_of(owner, AUDIT, site="site1")) == (ten, ten_filtered)
