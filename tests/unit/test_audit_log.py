"""The audit log: writes through the API, the services and the admin are recorded with who, what,
when and from which address; reads are not."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.staff_users import with_two_factor
from accounts import audit
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_api_write_is_recorded_with_the_token_user_and_address(world):
    response = world["client"]("developer").post("/api/v1/sites/shop/env/", {"vars": {"B": "2"}}, format="json",
                                                 REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 202, response.content
    event = audit.events_of(world["org"]).get(action="env.set")
    assert (event.actor_label, event.target, event.site_name, event.address, event.by_staff) == (
        "developer@example.com", "B", "shop", "203.0.113.7", False)


def test_a_read_records_nothing(world):
    before = AuditEvent.objects.count()
    assert world["client"]("viewer").get("/api/v1/sites/shop/env/").status_code == 200
    assert world["client"]("viewer").get("/api/v1/sites/shop/").status_code == 200
    assert AuditEvent.objects.count() == before


def test_a_refused_write_records_nothing(world):
    before = AuditEvent.objects.count()
    assert world["client"]("viewer").post("/api/v1/sites/shop/env/", {"vars": {"B": "2"}}, format="json").status_code == 403
    assert AuditEvent.objects.count() == before


def test_each_service_write_names_its_site(world):
    owner = world["client"]("owner")
    owner.post("/api/v1/sites/shop/domains/", {"hostname": "shop.example.org"}, format="json")
    owner.post("/api/v1/sites/shop/restart/")
    owner.patch("/api/v1/sites/shop/", {"health_check_path": "/up"}, format="json")
    actions = list(audit.events_of(world["org"], site="shop").values_list("action", flat=True))
    assert {"domain.add", "site.restart", "site.update", "site.create"} <= set(actions), actions
    assert not audit.events_of(world["org"], site="gshop").exists()  # the other organization's site


def test_staff_changes_in_the_admin_are_recorded_as_staff(world):
    staff = with_two_factor(get_user_model().objects.create_superuser("staff", "staff@hosting.test", "x-long-password-1"))
    client = Client()
    client.force_login(staff)
    response = client.post(f"/admin/accounts/organization/{world['org'].pk}/change/",
                           {"slug": "acme", "name": "Acme Corp", "memberships-TOTAL_FORMS": "0",
                            "memberships-INITIAL_FORMS": "0"},
                           REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302, response.content[:2000]
    event = audit.events_of(world["org"]).get(action="staff.organization.change")
    assert event.by_staff and event.actor_label == "staff@hosting.test" and event.address == "198.51.100.4"
    assert event.detail == {"fields": ["name"]}
