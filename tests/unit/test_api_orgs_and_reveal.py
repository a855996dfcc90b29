"""The two endpoints the CLI needed: your organizations with your role (`hosting orgs`), and one env
var's value on request (`hosting config get KEY`), audited like the portal's Reveal."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services import add_member, create_organization, get_or_create_user, issue_token
from sites.services import create_site, set_env

pytestmark = pytest.mark.django_db


def bearer(email: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(get_or_create_user(email))}")
    return client


@pytest.fixture
def acme():
    org = create_organization("acme", "owner@example.com")
    add_member(org, "viewer@example.com", "viewer")
    create_organization("globex", "other@example.com")
    site = create_site(org, "shop")
    set_env(site, {"SECRET": "s3cr3t value"})
    return site


def test_it_lists_only_your_organizations_with_your_role(acme):
    create_organization("initech", "owner@example.com")
    assert bearer("owner@example.com").get("/api/v1/orgs/").json() == [
        {"slug": "acme", "name": "acme", "role": "owner", "plan": acme.organization.plan.name, "suspended": False},
        {"slug": "initech", "name": "initech", "role": "owner", "plan": acme.organization.plan.name, "suspended": False},
    ]
    assert [o["slug"] for o in bearer("viewer@example.com").get("/api/v1/orgs/").json()] == ["acme"]
    assert APIClient().get("/api/v1/orgs/").status_code == 401


def test_it_reveals_one_value_to_a_deployer_and_records_who_read_it(acme):
    response = bearer("owner@example.com").get("/api/v1/sites/shop/env/SECRET/")
    assert response.json() == {"key": "SECRET", "value": "s3cr3t value"}
    assert AuditEvent.objects.filter(action="env.reveal", target="SECRET").count() == 1
    missing = bearer("owner@example.com").get("/api/v1/sites/shop/env/NOPE/")
    assert missing.status_code == 400 and "NOPE is not set" in str(missing.json())
    assert bearer("viewer@example.com").get("/api/v1/sites/shop/env/SECRET/").status_code == 403
    assert bearer("other@example.com").get("/api/v1/sites/shop/env/SECRET/").status_code == 404
    # The list still shows names only.
    assert bearer("owner@example.com").get("/api/v1/sites/shop/env/").json() == {"SECRET": "(set)"}
