"""Customers in the staff site: an organization's page, the plan change (admin and `manage.py
set_plan`, one service, seen by the customer), `manage.py add_staff`, and the audit log across
organizations, filtered by organization, site and actor."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import audit
from accounts.models import ApiToken, AuditEvent, Organization, Plan
from accounts.services import create_organization, get_or_create_user, issue_token
from sites.models import Site
from sites.services import create_site
from staff.roles import SUPPORT
from tests.staff_users import client_of, superuser, support_engineer

pytestmark = pytest.mark.django_db


def test_it_shows_an_organizations_members_sites_usage_tokens_and_links_to_its_audit_log(world):
    issue_token(get_or_create_user("developer@example.com"), "deploy-bot")
    org = world["org"]

    for client in (client_of(superuser()), client_of(support_engineer())):
        page = client.get(f"/admin/accounts/organization/{org.pk}/change/").content.decode()
        assert "admin@example.com" in page and "viewer@example.com" in page  # members
        assert f'/admin/sites/site/{world["site"].pk}/change/' in page and "gshop" not in page  # its sites only
        assert "Sites: 1 of 3" in page  # usage against the plan
        assert "deploy-bot" in page and "outsider@example.com" not in page  # its members' tokens
        assert f"/admin/accounts/auditevent/?organization__id__exact={org.pk}" in page


def test_it_lists_organizations_with_sites_used_and_members_in_a_constant_number_of_queries(world):
    client = client_of(superuser())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/admin/accounts/organization/")
        assert page.status_code == 200
        return len(captured)

    few = queries()
    for i in range(6):
        org = create_organization(f"extra{i}", f"o{i}@example.com")
        create_site(org, f"extra-site-{i}")
    assert queries() == few
    row = client.get("/admin/accounts/organization/?q=acme").content.decode()
    assert '<td class="field-sites_used">1 / 3</td><td class="field-members">4</td>' in row


def test_it_changes_a_plan_for_the_organization_and_its_sites_and_the_customer_sees_it(world):
    call_command("set_plan", "acme", "pro")

    org = Organization.objects.get(pk=world["org"].pk)
    assert org.plan.name == "pro" and Site.objects.get(name="shop").plan.name == "pro"
    assert Site.objects.get(name="gshop").plan.name == "starter"  # another organization's site
    event = audit.events_of(org).get(action="staff.organization.plan")
    assert event.detail == {"before": "starter", "after": "pro", "sites": 1}

    owner = get_user_model().objects.get(email="owner@example.com")
    portal = client_of(owner)
    assert "Plan: Pro" in portal.get("/usage/").content.decode()
    assert "staff.organization.plan" in portal.get("/audit/").content.decode()


def test_it_refuses_set_plan_for_an_unknown_organization_or_plan(world):
    with pytest.raises(CommandError, match="no organization named 'nope'"):
        call_command("set_plan", "nope", "pro")
    with pytest.raises(CommandError, match="no plan named 'gold'; the plans are: pro, standard, starter"):
        call_command("set_plan", "acme", "gold")
    assert Organization.objects.get(pk=world["org"].pk).plan.name == "starter"
    assert not AuditEvent.objects.filter(action="staff.organization.plan").exists()


def test_it_adds_support_staff_and_promotes_a_user_to_superuser(capsys):
    call_command("add_staff", "Ann@Hosting.test", "--role", "support")
    printed = capsys.readouterr().out
    ann = get_user_model().objects.get(email="ann@hosting.test")
    password = printed.split("with the password ")[1].split()[0]
    assert ann.is_staff and not ann.is_superuser and ann.groups.filter(name=SUPPORT).exists()
    assert ann.check_password(password) and "two-factor" in printed

    call_command("add_staff", "ann@hosting.test", "--role", "superuser")
    ann.refresh_from_db()
    assert ann.is_superuser and ann.check_password(password)  # promoted; the password is unchanged
    assert list(AuditEvent.objects.filter(action="staff.add_staff", organization=None).order_by("id")
                .values_list("detail__role", flat=True)) == ["support", "superuser"]

    with pytest.raises(CommandError, match="valid email"):
        call_command("add_staff", "not-an-address", "--role", "support")


def test_it_shows_staff_the_audit_log_of_every_organization_filtered_by_organization_site_and_actor(world):
    staff = superuser()
    client = client_of(staff)
    globex = Organization.objects.get(slug="globex")
    audit.record(globex, "site.create", "gshop", site="gshop")
    audit.record(None, "staff.host.change", "h1", by=staff)
    audit.record(world["org"], "env.set", "A", site="shop", by=get_or_create_user("developer@example.com"))

    def actions(query: str = "") -> set[str]:
        """The actions of the events listed (the filter's own links name actions too)."""
        page = client.get(f"/admin/accounts/auditevent/{query}").content.decode()
        return set(re.findall(r'<td class="field-action">([^<]*)</td>', page))

    assert actions() >= {"staff.host.change", "site.create", "env.set"}
    by_org = client.get(f"/admin/accounts/auditevent/?organization__id__exact={globex.pk}").content.decode()
    assert "gshop" in by_org and "globex" in by_org
    assert "env.set" not in actions(f"?organization__id__exact={globex.pk}")
    assert {"env.set"} <= actions("?site_name=shop") and "staff.host.change" not in actions("?site_name=shop")
    assert "staff.host.change" in actions(f"?actor__id__exact={staff.pk}")
    assert "env.set" not in actions(f"?actor__id__exact={staff.pk}")
    assert actions("?scope=platform") == {"staff.host.change"}
    assert client.get("/admin/accounts/auditevent/?actor__id__exact=x").status_code == 302  # "?e=1", not a 500


def test_it_never_changes_the_plan_from_the_organization_form(world):
    pro = Plan.objects.get(name="pro")
    client = client_of(superuser())
    client.post(f"/admin/accounts/organization/{world['org'].pk}/change/",
                {"slug": "acme", "name": "acme", "plan": pro.pk,
                 "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert Organization.objects.get(pk=world["org"].pk).plan.name == "starter"  # only the action changes it


@pytest.mark.parametrize("url", ["/admin/accounts/membership/", "/admin/accounts/apitoken/",
                                 "/admin/accounts/auditevent/", "/admin/accounts/plan/"])
def test_it_lists_members_tokens_and_events_in_a_constant_number_of_queries(world, url):
    client = client_of(support_engineer())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def more(n: int) -> None:
        for i in range(n):
            org = create_organization(f"more{n}-{i}", f"m{n}-{i}@example.com")
            issue_token(get_or_create_user(f"m{n}-{i}@example.com"), "t")
            audit.record(org, "site.create", "x", site="x", by=get_or_create_user(f"m{n}-{i}@example.com"))

    more(1)
    few = queries()
    more(5)
    assert queries() == few


def test_it_links_a_user_and_a_membership_to_what_they_did_and_filters_tokens_by_state(world):
    client = client_of(support_engineer())
    developer = get_or_create_user("developer@example.com")
    issue_token(developer, "live-one")
    issue_token(developer, "dead-one")
    ApiToken.objects.filter(name="dead-one").update(revoked_at="2026-01-01T00:00Z")

    user_page = client.get(f"/admin/auth/user/{developer.pk}/change/").content.decode()
    members = client.get(f"/admin/accounts/membership/?user__id__exact={developer.pk}").content.decode()
    active = client.get("/admin/accounts/apitoken/?state=active").content.decode()
    revoked = client.get("/admin/accounts/apitoken/?state=revoked").content.decode()

    assert f"/admin/accounts/auditevent/?actor__id__exact={developer.pk}" in user_page
    assert f"/admin/accounts/membership/?user__id__exact={developer.pk}" in user_page
    assert f"organization__id__exact={world['org'].pk}&amp;actor__id__exact={developer.pk}" in members
    assert "live-one" in active and "dead-one" not in active
    assert "dead-one" in revoked and "live-one" not in revoked


def test_it_warns_when_an_organization_keeps_more_sites_than_its_new_plan_allows(world):
    Plan.objects.filter(name="pro").update(max_sites=0)
    client = client_of(superuser())
    pro = Plan.objects.get(name="pro")

    page = client.post("/admin/accounts/organization/", {"action": "set_plan", "_selected_action": [world["org"].pk],
                                                         "apply": "1", "plan": pro.pk}, follow=True).content.decode()

    assert "acme has 1 sites, more than Pro&#x27;s 0: they keep them" in page
    assert Site.objects.get(name="shop").plan == pro
