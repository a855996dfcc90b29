from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken, Membership
from accounts.services import user_for_token

pytestmark = pytest.mark.django_db


def test_create_org_creates_the_owner_and_create_token_prints_a_working_token_once():
    out = io.StringIO()
    call_command("create_org", "acme", "--owner", "Owner@Example.com", stdout=out)
    assert "Created organization acme (plan starter)" in out.getvalue()
    membership = Membership.objects.get(organization__slug="acme")
    assert membership.role == "owner" and membership.user.email == "owner@example.com"

    out = io.StringIO()
    call_command("create_token", "owner@example.com", stdout=out)
    token = out.getvalue().strip()
    assert user_for_token(token) == membership.user
    assert token not in str(list(ApiToken.objects.values_list("digest", "prefix")))


def test_create_org_refuses_bad_names_and_duplicates():
    with pytest.raises(CommandError, match="not a valid organization name"):
        call_command("create_org", "Acme Inc", "--owner", "a@example.com")
    call_command("create_org", "acme", "--owner", "a@example.com", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_org", "acme", "--owner", "b@example.com")
    with pytest.raises(CommandError, match="no user"):
        call_command("create_token", "nobody@example.com")
