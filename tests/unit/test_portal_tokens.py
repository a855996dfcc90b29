"""The API tokens page: a token is shown once, then only its prefix; revoking is the owner's alone."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import create_organization, get_or_create_user, issue_token, user_for_token
from tests.unit.portal_clients import queries_of, signed_in

pytestmark = pytest.mark.django_db
NEW_TOKEN = re.compile(r'<code id="new-token"[^>]*>([^<]+)</code>')


@pytest.fixture
def owner() -> Client:
    create_organization("acme", "owner@example.com")
    return signed_in("owner@example.com")


def test_a_new_token_is_shown_once_then_only_its_prefix(owner):
    created = owner.post(reverse("accounts:tokens"), {"name": "laptop", "expires_days": "30"})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    token = NEW_TOKEN.search(created.content.decode()).group(1)
    assert b'<button type="button" data-copy="new-token">Copy</button>' in created.content
    assert b"git remote add hosting http://testserver/git/" in created.content
    assert user_for_token(token) == get_or_create_user("owner@example.com")
    row = ApiToken.objects.get()
    assert row.name == "laptop" and row.expires_at is not None and token not in row.digest

    listed = owner.get(reverse("accounts:tokens")).content.decode()
    assert token not in listed and 'id="new-token"' not in listed
    assert f"{row.prefix}…" in listed and "laptop" in listed


def test_a_bad_token_form_shows_why_and_creates_nothing(owner):
    for data, words in (({"name": ""}, b"Name the token"),
                        ({"name": "ci", "expires_days": "0"}, b"greater than or equal to 1"),
                        ({"name": "ci", "expires_days": "soon"}, b"Enter a whole number")):
        response = owner.post(reverse("accounts:tokens"), data)
        assert response.status_code == 400 and words in response.content
        assert b'id="new-token"' not in response.content
    assert not ApiToken.objects.exists()


def test_revoking_stops_the_token_and_shows_it_revoked(owner):
    token = issue_token(get_or_create_user("owner@example.com"), "ci")
    prefix = token[:12]
    assert owner.post(reverse("accounts:token-revoke", args=[prefix])).status_code == 302
    assert user_for_token(token) is None
    assert b"revoked" in owner.get(reverse("accounts:tokens")).content
    assert owner.post(reverse("accounts:token-revoke", args=[prefix])).status_code == 404


def test_someone_elses_token_is_not_found(owner):
    token = issue_token(get_or_create_user("other@example.com"), "theirs")
    assert owner.post(reverse("accounts:token-revoke", args=[token[:12]])).status_code == 404
    assert user_for_token(token) is not None
    assert token[:12].encode() not in owner.get(reverse("accounts:tokens")).content


def test_a_user_without_an_organization_manages_tokens(db):
    loner = signed_in("loner@example.com")
    assert loner.get(reverse("accounts:tokens")).status_code == 200
    assert loner.post(reverse("accounts:tokens"), {"name": "mine"}).status_code == 200
    assert ApiToken.objects.filter(user__email="loner@example.com").count() == 1


def test_the_tokens_page_needs_a_sign_in(db):
    for response in (Client().get(reverse("accounts:tokens")),
                     Client().post(reverse("accounts:token-revoke", args=["hst_abcdefgh"]))):
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_tokens_page_query_count_does_not_grow_with_tokens(owner):
    user = get_or_create_user("owner@example.com")
    for i in range(10):
        issue_token(user, f"t{i}")
    ten = queries_of(owner, reverse("accounts:tokens"))
    for i in range(10, 30):
        issue_token(user, f"t{i}", expires_days=1)
    assert queries_of(owner, reverse("accounts:tokens")) == ten
