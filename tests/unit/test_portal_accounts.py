"""Accounts in the portal: sign-up with a confirmed address, logging in and out, password reset,
the account page."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client

from accounts.models import Membership, Organization, Profile
from accounts.services import create_organization
from accounts.signup import CONFIRM_SALT
from tests.unit.portal_logins import PASSWORD, fast_password_hashing, owner_with_password  # noqa: F401

pytestmark = pytest.mark.django_db


LINK = re.compile(r"https?://\S+")


def sign_up(client, email="ada@example.com", password=PASSWORD, organization="Acme Co"):
    return client.post("/signup/", {"email": email, "password": password, "organization": organization})


def log_in(client, email="ada@example.com", password=PASSWORD, **extra):
    return client.post("/login/", {"email": email, "password": password}, **extra)


def link_in(message) -> str:
    return LINK.search(message.body).group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def operator_user():
    """An owner made by an operator's command, who then got a password: no confirmation needed."""
    return owner_with_password("globex", "grace@example.com")


# --- sign-up and confirmation ----------------------------------------------------------------------

def test_it_signs_up_an_organization_with_its_owner_and_mails_a_working_link(client, mailoutbox):
    response = sign_up(client, email="Ada@Example.com")

    assert response.status_code == 302 and response["Location"] == "/login/"
    organization = Organization.objects.get(slug="acme-co")
    assert organization.name == "Acme Co"
    owner = Membership.objects.get(organization=organization)
    assert (owner.role, owner.user.username, owner.user.email) == ("owner", "ada@example.com", "ada@example.com")
    assert organization.audit_events.filter(action="organization.create", actor=owner.user).exists()
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"] and "Confirm" in mail.subject

    refused = log_in(client)
    assert refused.status_code == 200 and "Confirm your e-mail address first" in refused.content.decode()
    assert "/signup/resend/?email=ada%40example.com" in refused.content.decode()
    assert 'value="ada@example.com"' in client.get("/signup/resend/?email=ada%40example.com").content.decode()

    confirmed = client.get(path_of(link_in(mail)))
    assert confirmed.status_code == 302 and confirmed["Location"] == "/login/"
    assert log_in(client)["Location"] == "/"
    assert client.get("/account/").status_code == 200


@pytest.mark.parametrize("field,value,error", [
    ("organization", "Globex", "already exists: choose another name"),
    ("organization", "!!!", "Use letters or digits"),
    ("password", "password", "This password is too common"),
    ("password", "12345678901", "entirely numeric"),
    ("email", "not-an-address", "Enter a valid email address"),
    ("email", "GRACE@example.com", "An account with this e-mail address already exists"),
])
def test_it_refuses_a_bad_sign_up_with_a_clear_error_and_creates_nothing(client, mailoutbox, operator_user,
                                                                         field, value, error):
    users, organizations = get_user_model().objects.count(), Organization.objects.count()
    data = {"email": "ada@example.com", "password": PASSWORD, "organization": "Acme", field: value}

    response = client.post("/signup/", data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert (get_user_model().objects.count(), Organization.objects.count()) == (users, organizations)
    assert mailoutbox == []


def test_it_shows_every_mistake_of_a_sign_up_at_once(client):
    page = client.post("/signup/", {"email": "ada@", "password": "123", "organization": "-"}).content.decode()
    assert "Enter a valid email address" in page and "too short" in page and "Use letters or digits" in page


def test_it_refuses_a_forged_an_expired_or_an_outdated_link(client, mailoutbox, settings):
    sign_up(client)
    user = get_user_model().objects.get(email="ada@example.com")
    forged = signing.dumps({"user": user.pk, "email": user.email}, salt="another-purpose")
    assert client.get(f"/signup/confirm/{forged}/").status_code == 400

    settings.EMAIL_CONFIRMATION_DAYS = 0  # every link is now too old
    assert client.get(path_of(link_in(mailoutbox[0]))).status_code == 400
    settings.EMAIL_CONFIRMATION_DAYS = 3

    user.email = "ada@elsewhere.example"
    user.save()
    stale = client.get(path_of(link_in(mailoutbox[0])))
    assert stale.status_code == 400 and "not valid or has expired" in stale.content.decode()
    assert Profile.objects.get(user=user).email_confirmed_at is None


def test_it_resends_a_link_to_a_waiting_address_and_says_the_same_for_any_other(client, mailoutbox, operator_user):
    sign_up(Client())
    waiting = client.post("/signup/resend/", {"email": "ADA@example.com"}, follow=True)
    unknown = client.post("/signup/resend/", {"email": "nobody@example.com"}, follow=True)
    confirmed_already = client.post("/signup/resend/", {"email": "grace@example.com"}, follow=True)

    assert len(mailoutbox) == 2 and mailoutbox[1].to == ["ada@example.com"]
    assert signing.loads(link_in(mailoutbox[1]).rstrip("/").rsplit("/", 1)[1], salt=CONFIRM_SALT)
    pages = {re.search(r'<div class="messages".*?</div>', r.content.decode(), re.S).group(0)
             for r in (waiting, unknown, confirmed_already)}
    assert len(pages) == 1 and "If that address belongs to an account waiting for confirmation" in pages.pop()
    client.post("/signup/resend/", {"email": "ada@example.com"})
    assert len(mailoutbox) == 2  # at most one a minute


# --- logging in and out ----------------------------------------------------------------------------

def test_it_lets_users_made_by_operators_log_in_without_a_confirmation(client, operator_user):
    assert log_in(client, email="grace@example.com")["Location"] == "/"


def test_the_staff_user_logs_in_with_its_username(client):
    get_user_model().objects.create_superuser(username="admin", email="", password=PASSWORD)
    assert log_in(client, email="admin")["Location"] == "/"


def test_it_refuses_a_wrong_password_without_saying_whether_the_account_exists(client, operator_user):
    wrong = log_in(client, email="grace@example.com", password="wrong").content.decode()
    unknown = log_in(client, email="nobody@example.com", password="wrong").content.decode()
    assert "do not match an account" in wrong and "do not match an account" in unknown
    assert client.get("/account/")["Location"].startswith("/login/")


@pytest.mark.parametrize("next_url,expected", [
    ("/sites/new/", "/sites/new/"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example/", "/"),
])
def test_it_follows_next_only_to_our_own_paths(client, operator_user, next_url, expected):
    response = client.post(f"/login/?next={next_url}", {"email": "grace@example.com", "password": PASSWORD})
    assert response["Location"] == expected


def test_it_logs_out_with_a_post(client, operator_user):
    log_in(client, email="grace@example.com")
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/account/")["Location"].startswith("/login/")


def test_it_labels_every_field_for_people_and_password_managers(client):
    page = client.get("/signup/").content.decode()
    for label, autocomplete in (("E-mail", "email"), ("Password", "new-password"), ("Organization name", "organization")):
        field_id = re.search(rf'<label for="(\w+)">{label}</label>', page).group(1)
        assert re.search(rf'<input [^>]*autocomplete="{autocomplete}"[^>]*id="{field_id}"', page), label
    errors = client.post("/signup/", {"email": "bad", "password": "x", "organization": "A"}).content.decode()
    email_input = re.search(r'<input [^>]*id="id_email">', errors).group(0)
    assert 'aria-invalid="true"' in email_input and 'aria-describedby="id_email_error"' in email_input
    assert 'id="id_email_error"' in errors
    login = client.get("/login/").content.decode()
    assert 'autocomplete="username"' in login and 'autocomplete="current-password"' in login


# --- password reset --------------------------------------------------------------------------------

def test_it_mails_a_reset_link_to_a_known_address_and_shows_the_same_page_for_an_unknown_one(
        client, mailoutbox, operator_user):
    known = client.post("/password-reset/", {"email": "grace@example.com"})
    unknown = client.post("/password-reset/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/password-reset/sent/"
    [mail] = mailoutbox
    assert mail.to == ["grace@example.com"]
    form = client.get(path_of(link_in(mail)), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "a new long passphrase",
                                                    "new_password2": "a new long passphrase"})
    assert done["Location"] == "/password-reset/done/"
    assert log_in(client, email="grace@example.com", password="a new long passphrase")["Location"] == "/"


def test_a_user_without_a_password_yet_sets_one_by_a_reset_link(client, mailoutbox):
    create_organization("initech", "peter@example.com")  # as `manage.py` does: no password
    client.post("/password-reset/", {"email": "Peter@example.com"})
    form = client.get(path_of(link_in(mailoutbox[0])), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": "a first long passphrase",
                                             "new_password2": "a first long passphrase"})
    assert log_in(client, email="peter@example.com", password="a first long passphrase")["Location"] == "/"


def test_it_mails_an_address_at_most_one_reset_link_a_minute(client, mailoutbox, operator_user):
    for _ in range(3):
        assert client.post("/password-reset/", {"email": "grace@example.com"})["Location"] == "/password-reset/sent/"
    assert len(mailoutbox) == 1


def test_a_completed_reset_confirms_the_address_of_a_sign_up(client, mailoutbox):
    sign_up(client)
    client.post("/password-reset/", {"email": "ada@example.com"})
    form = client.get(path_of(link_in(mailoutbox[-1])), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": "another long passphrase",
                                             "new_password2": "another long passphrase"})
    assert log_in(client, password="another long passphrase")["Location"] == "/"


# --- the account page ------------------------------------------------------------------------------

def test_it_changes_the_password_with_the_current_one(client, operator_user):
    log_in(client, email="grace@example.com")
    page = client.get("/account/").content.decode()
    assert "grace@example.com" in page and "Two-factor authentication" in page

    wrong = client.post("/account/", {"old_password": "nope", "new_password1": "a fresh long phrase",
                                      "new_password2": "a fresh long phrase"})
    assert wrong.status_code == 400
    changed = client.post("/account/", {"old_password": PASSWORD, "new_password1": "a fresh long phrase",
                                        "new_password2": "a fresh long phrase"})
    assert changed["Location"] == "/account/"
    assert client.get("/account/").status_code == 200  # this session stays signed in
    operator_user.refresh_from_db()
    assert operator_user.check_password("a fresh long phrase")


def test_the_account_pages_need_a_login(client):
    for path in ("/account/", "/account/two-factor/"):
        assert client.get(path)["Location"].startswith("/login/?next=")
