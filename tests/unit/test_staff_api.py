"""The staff's API behind `hosting admin`: suspend, unsuspend, set a plan, list and drain hosts,
through the same services as the admin; only staff with two-factor and the admin's permission
(support staff may not), 403 for customers, 401 without a token."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Organization
from accounts.services import create_organization, issue_token
from hosting.models import Host
from tests.staff_users import superuser, support_engineer

pytestmark = pytest.mark.django_db


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}")
    return client


@pytest.fixture
def acme() -> Organization:  # on the default plan; the migrations seed starter, standard and pro
    return create_organization("acme", "owner@example.com")


def test_staff_suspend_set_the_plan_and_unsuspend(acme):
    boss = bearer(superuser())
    suspended = boss.post("/api/v1/admin/orgs/acme/suspend/", {"reason": "unpaid invoice 42"}, format="json")
    assert suspended.status_code == 200, suspended.content
    assert suspended.json()["suspended"] and suspended.json()["suspended_reason"] == "unpaid invoice 42"
    assert Organization.objects.get(slug="acme").suspended
    no_reason = boss.post("/api/v1/admin/orgs/acme/suspend/", {}, format="json")
    assert no_reason.status_code == 400 and "Give a reason" in str(no_reason.json())
    assert boss.post("/api/v1/admin/orgs/acme/plan/", {"plan": "pro"}, format="json").json()["plan"] == "pro"
    assert AuditEvent.objects.filter(action="staff.organization.plan", target="acme").exists()
    unknown = boss.post("/api/v1/admin/orgs/acme/plan/", {"plan": "gold"}, format="json")
    assert unknown.status_code == 400 and "no plan named 'gold'" in str(unknown.json())
    assert boss.post("/api/v1/admin/orgs/acme/unsuspend/").json()["suspended"] is False
    assert boss.post("/api/v1/admin/orgs/nope/unsuspend/").status_code == 404


def test_staff_list_and_drain_hosts():
    Host.objects.create(name="h2", cpus=4, memory_mb=16000, last_heartbeat=timezone.now())
    boss = bearer(superuser())
    assert "h2" in [h["name"] for h in boss.get("/api/v1/admin/hosts/").json()]
    drained = boss.post("/api/v1/admin/hosts/h2/drain/", {"reason": "kernel upgrade"}, format="json")
    assert drained.status_code == 200 and drained.json()["moving"] == {}
    assert Host.objects.get(name="h2").cordon_reason == "kernel upgrade"
    assert boss.post("/api/v1/admin/hosts/h2/undrain/").json() == {"host": "h2", "undrained": True}
    assert Host.objects.get(name="h2").cordoned_at is None


@pytest.mark.parametrize("path", ["orgs/acme/suspend/", "orgs/acme/plan/", "hosts/h1/drain/"])
def test_customers_support_staff_and_staff_without_two_factor_are_refused(acme, path):
    body = {"reason": "x", "plan": "pro"}
    owner = bearer(get_user_model().objects.get(email="owner@example.com"))
    assert owner.post(f"/api/v1/admin/{path}", body, format="json").status_code == 403
    helper = bearer(support_engineer())  # may read hosts, not change what these change
    refused = helper.post(f"/api/v1/admin/{path}", body, format="json")
    assert refused.status_code == 403 and "staff role may not" in refused.json()["detail"]
    no_second_factor = get_user_model().objects.create_superuser("lax", "lax@hosting.test", "staff-password-1")
    refused = bearer(no_second_factor).post(f"/api/v1/admin/{path}", body, format="json")
    assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]
    assert APIClient().post(f"/api/v1/admin/{path}", body, format="json").status_code == 401
    assert not Organization.objects.get(slug="acme").suspended
