"""Staff roles in the staff site, driven through its real URLs: a support engineer is refused each
action they may not take (and nothing changes), may do what support does (tokens, members, every
list page), and a superuser may do all of it. The door itself: staff without two-factor are sent
to set it up, customers are refused."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts import team
from accounts.models import ApiToken, AuditEvent, Membership, Organization, Plan, Role
from accounts.services import create_organization, get_or_create_user, issue_token, mark_suspended
from hosting.models import Host
from sites.models import Site
from sites.services import create_site
from tests.staff_users import PASSWORD, client_of, superuser, support_engineer

pytestmark = pytest.mark.django_db

ORGS = "/admin/accounts/organization/"


@pytest.fixture
def support() -> Client:
    return client_of(support_engineer())


@pytest.fixture
def boss() -> Client:
    return client_of(superuser())


def _action(client: Client, url: str, action: str, pks: list[int], **extra):
    return client.post(url, {"action": action, "_selected_action": pks, **extra})


def _org(world) -> Organization:
    return Organization.objects.select_related("plan").get(pk=world["org"].pk)


# --- what support may not do -----------------------------------------------------------------------


def test_it_refuses_support_deleting_an_organization(world, support):
    empty = create_organization("empty", "lonely@example.com")

    assert support.post(f"{ORGS}{empty.pk}/delete/", {"post": "yes"}).status_code == 403
    _action(support, ORGS, "delete_selected", [empty.pk], post="yes")

    assert Organization.objects.filter(pk=empty.pk).exists()


def test_it_refuses_support_changing_a_plan_by_the_action_and_by_the_form(world, support):
    pro = Plan.objects.get(name="pro")
    before = _org(world).plan_id

    confirm = _action(support, ORGS, "set_plan", [world["org"].pk])
    applied = _action(support, ORGS, "set_plan", [world["org"].pk], apply="1", plan=pro.pk)
    form = support.post(f"{ORGS}{world['org'].pk}/change/", {"slug": "acme", "name": "acme", "plan": pro.pk})

    # Django's action menu has no such action for them: the list again, never the confirmation page.
    assert 'name="apply"' not in confirm.content.decode() and 'name="apply"' not in applied.content.decode()
    assert form.status_code == 403
    assert _org(world).plan_id == before and Site.objects.get(name="shop").plan_id == before
    assert not AuditEvent.objects.filter(action="staff.organization.plan").exists()


def test_it_refuses_support_suspending_and_unsuspending(world, support):
    _action(support, ORGS, "suspend", [world["org"].pk], apply="1", reason="looked odd")
    assert not _org(world).suspended

    mark_suspended(world["org"], True, "abuse report")
    _action(support, ORGS, "unsuspend", [world["org"].pk])
    assert _org(world).suspended and _org(world).suspended_reason == "abuse report"


def test_it_refuses_support_editing_a_host(support):
    host = Host.objects.create(name="h9", cpus=4, memory_mb=16000)

    answer = support.post(f"/admin/hosting/host/{host.pk}/change/",
                          {"name": "renamed", "service_address": "127.0.0.2", "cpus": 64, "memory_mb": 1})

    assert answer.status_code == 403
    host.refresh_from_db()
    assert (host.name, host.cpus, host.memory_mb, host.service_address) == ("h9", 4, 16000, "127.0.0.1")


def _plan_form(plan: Plan, **changes) -> dict:
    fields = [f.name for f in Plan._meta.fields if f.name != "id"]
    return {**{name: getattr(plan, name) for name in fields}, **changes}


def test_it_refuses_support_editing_or_adding_a_plan(support):
    starter = Plan.objects.get(name="starter")

    edit = support.post(f"/admin/accounts/plan/{starter.pk}/change/", _plan_form(starter, memory_mb=99999))
    add = support.post("/admin/accounts/plan/add/", _plan_form(starter, name="huge", label="Huge"))

    assert edit.status_code == 403 and add.status_code == 403
    assert Plan.objects.get(pk=starter.pk).memory_mb == starter.memory_mb
    assert not Plan.objects.filter(name="huge").exists()
    assert support.get(f"/admin/accounts/plan/{starter.pk}/change/").status_code == 200  # they may look


# --- what support may do -------------------------------------------------------------------------


def test_it_lets_support_revoke_a_leaked_token_and_tells_the_customer(world, support):
    issue_token(get_or_create_user("developer@example.com"), "ci")
    token = ApiToken.objects.get(user__email="developer@example.com", name="ci")

    _action(support, "/admin/accounts/apitoken/", "revoke", [token.pk])

    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(organization=world["org"], action="staff.token.revoke")
    assert event.by_staff and event.actor_label == "helper@hosting.test" and token.prefix in event.target


def test_it_never_shows_a_tokens_digest(world, support):
    issue_token(get_or_create_user("developer@example.com"), "ci")
    token = ApiToken.objects.get(name="ci")

    pages = support.get("/admin/accounts/apitoken/").content.decode() + \
        support.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()

    assert token.prefix in pages and token.digest not in pages


def test_it_lets_support_add_a_member_change_a_role_and_remove_a_member(world, support):
    newcomer = get_or_create_user("newcomer@example.com")

    added = support.post("/admin/accounts/membership/add/",
                         {"organization": world["org"].pk, "user": newcomer.pk, "role": Role.DEVELOPER})
    membership = Membership.objects.get(organization=world["org"], user=newcomer)
    changed = support.post(f"/admin/accounts/membership/{membership.pk}/change/", {"role": Role.ADMIN})
    role_after_change = Membership.objects.get(pk=membership.pk).role
    removed = support.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})

    assert (added.status_code, changed.status_code, removed.status_code) == (302, 302, 302)
    assert role_after_change == Role.ADMIN
    assert not Membership.objects.filter(pk=membership.pk).exists()
    actions = list(AuditEvent.objects.filter(organization=world["org"], action__startswith="staff.team.")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["staff.team.add", "staff.team.role", "staff.team.remove"]


def test_it_refuses_support_making_a_staff_account_a_member(world):
    helper = support_engineer()
    answer = client_of(helper).post("/admin/accounts/membership/add/",
                                    {"organization": world["org"].pk, "user": helper.pk, "role": Role.OWNER})
    assert answer.status_code == 200 and "Only a superuser may make a staff account" in answer.content.decode()
    assert not Membership.objects.filter(user=helper).exists()


def test_it_refuses_to_remove_or_demote_the_last_owner_with_a_clear_message(world, support):
    owner = Membership.objects.get(organization=world["org"], role=Role.OWNER)

    removed = support.post(f"/admin/accounts/membership/{owner.pk}/delete/", {"post": "yes"}, follow=True)
    demoted = support.post(f"/admin/accounts/membership/{owner.pk}/change/", {"role": Role.VIEWER})

    assert "last owner" in removed.content.decode()
    assert demoted.status_code == 200 and "last owner" in demoted.content.decode()
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_it_lets_support_view_every_list_page(world, support):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert support.get(url).status_code == 200, url


# --- what a superuser may do ---------------------------------------------------------------------


def test_it_lets_a_superuser_suspend_with_a_reason_and_unsuspend(world, boss):
    asked = _action(boss, ORGS, "suspend", [world["org"].pk])
    no_reason = _action(boss, ORGS, "suspend", [world["org"].pk], apply="1", reason="  ")
    assert "reason" in asked.content.decode() and "Give a reason" in no_reason.content.decode()
    assert not _org(world).suspended

    _action(boss, ORGS, "suspend", [world["org"].pk], apply="1", reason="abuse report 7")
    assert _org(world).suspended and _org(world).suspended_reason == "abuse report 7"

    _action(boss, ORGS, "unsuspend", [world["org"].pk])
    assert not _org(world).suspended


def test_it_lets_a_superuser_change_a_plan_delete_an_empty_organization_and_edit_a_plan(world, boss):
    pro = Plan.objects.get(name="pro")
    _action(boss, ORGS, "set_plan", [world["org"].pk], apply="1", plan=pro.pk)
    assert _org(world).plan == pro and Site.objects.get(name="shop").plan == pro

    empty = create_organization("empty", "lonely@example.com")
    assert boss.post(f"{ORGS}{empty.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Organization.objects.filter(pk=empty.pk).exists()
    # An organization with sites is not deleted from here: its containers would keep running.
    with_site = create_organization("busy", "busy@example.com")
    create_site(with_site, "busy-site")
    assert boss.post(f"{ORGS}{with_site.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Site.objects.filter(name="busy-site").exists()
    # Said by the organization's admin itself (no delete button), not only by the cascade's check.
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="boss")
    assert not admin.site._registry[Organization].has_delete_permission(request, with_site)

    starter = Plan.objects.get(name="starter")
    assert boss.post(f"/admin/accounts/plan/{starter.pk}/change/", _plan_form(starter, memory_mb=300)).status_code == 302
    assert Plan.objects.get(pk=starter.pk).memory_mb == 300
    event = AuditEvent.objects.get(action="staff.plan.change")
    assert event.organization is None and event.detail == {"fields": ["memory_mb"]}


def _inline(rows: list[tuple[Membership | None, int | str, str, bool]]) -> dict:
    data = {"slug": "acme", "name": "acme", "memberships-TOTAL_FORMS": len(rows),
            "memberships-INITIAL_FORMS": sum(1 for m, *_ in rows if m)}
    for i, (membership, user, role, delete) in enumerate(rows):
        data.update({f"memberships-{i}-id": membership.pk if membership else "", f"memberships-{i}-user": user,
                     f"memberships-{i}-role": role, f"memberships-{i}-organization": ""})
        if delete:
            data[f"memberships-{i}-DELETE"] = "on"
    return data


def test_it_lets_a_superuser_manage_members_inline_but_never_leaves_no_owner(world, boss):
    owner = Membership.objects.get(organization=world["org"], role=Role.OWNER)
    newcomer = get_or_create_user("newcomer@example.com")
    url = f"{ORGS}{world['org'].pk}/change/"

    refused = boss.post(url, _inline([(owner, owner.user_id, Role.OWNER, True)]))
    assert refused.status_code == 200 and "must keep an owner" in refused.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()

    # Hand over in one save: the admin becomes owner while the owner steps down to viewer.
    admin_member = Membership.objects.get(organization=world["org"], role=Role.ADMIN)
    handed = boss.post(url, _inline([(owner, owner.user_id, Role.VIEWER, False),
                                     (admin_member, admin_member.user_id, Role.OWNER, False)]))
    assert handed.status_code == 302
    assert Membership.objects.get(pk=owner.pk).role == Role.VIEWER

    # The newcomer becomes owner in the same save that removes the owner before them.
    moved = boss.post(url, _inline([(admin_member, admin_member.user_id, Role.OWNER, True),
                                    (None, newcomer.pk, Role.OWNER, False)]))
    assert moved.status_code == 302
    assert list(Membership.objects.filter(organization=world["org"], role=Role.OWNER)
                .values_list("user__email", flat=True)) == ["newcomer@example.com"]
    assert AuditEvent.objects.filter(organization=world["org"], action="staff.team.remove").count() == 1


def test_it_never_removes_the_last_owner_even_when_asked_directly(world):
    owner = Membership.objects.get(organization=world["org"], role=Role.OWNER)
    with pytest.raises(ValidationError, match="last owner"):
        team.staff_remove_member(owner, superuser())
    with pytest.raises(ValidationError, match="last owner"):
        team.staff_set_member(world["org"], owner.user, Role.ADMIN, superuser("boss2"))
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


# --- the door ------------------------------------------------------------------------------------


def test_it_sends_staff_without_two_factor_to_set_it_up(world):
    staff = get_user_model().objects.create_user("plain", "plain@hosting.test", PASSWORD, is_staff=True)
    answer = client_of(staff).get("/admin/", follow=True)
    assert answer.redirect_chain[-1][0] == "/account/two-factor/"


def test_it_refuses_a_signed_in_customer(world):
    customer = get_user_model().objects.get(email="owner@example.com")
    assert client_of(customer).get("/admin/", follow=True).status_code == 403
    assert client_of(customer).post(f"{ORGS}", {"action": "suspend", "_selected_action": [world["org"].pk],
                                                "apply": "1", "reason": "x"}).status_code in (302, 403)
    assert not _org(world).suspended and Organization.objects.filter(suspended_at__lte=timezone.now()).count() == 0


def test_it_never_lets_anyone_edit_or_delete_a_token_or_an_audit_event(world, boss):
    issue_token(get_or_create_user("developer@example.com"), "ci")
    token = ApiToken.objects.get(name="ci")
    event = AuditEvent.objects.first()

    assert boss.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"}).status_code == 403
    assert boss.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"name": "renamed"}).status_code == 403
    assert boss.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "nothing"}).status_code == 403
    assert boss.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiToken.objects.get(pk=token.pk).name == "ci" and AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_suspends_every_organization_the_list_selected_with_all_of_them(world, boss):
    asked = _action(boss, ORGS, "suspend", [world["org"].pk], select_across="1", index="0")
    assert 'name="select_across" value="1"' in asked.content.decode()

    _action(boss, ORGS, "suspend", [world["org"].pk], select_across="1", apply="1", reason="fraud ring")

    assert list(Organization.objects.values_list("suspended", flat=True)) == [True, True]  # acme and globex
