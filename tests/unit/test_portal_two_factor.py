"""Two-factor authentication in the portal: set-up from the account, the second login step,
recovery codes, turning it off."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from tests.staff_users import with_two_factor
from accounts import totp
from accounts.models import Profile, RecoveryCode
from core.encryption import decrypt
from tests.unit.portal_logins import PASSWORD, fast_password_hashing, owner_with_password  # noqa: F401

pytestmark = pytest.mark.django_db




@pytest.fixture
def user():
    return owner_with_password("acme", "ada@example.com")


def log_in(client, **extra):
    return client.post("/login/", {"email": "ada@example.com", "password": PASSWORD}, **extra)


def code(secret: str, offset: int = 0) -> str:
    return totp.code_at(secret, totp.current_step() + offset)


def enable(client) -> tuple[str, list[str]]:
    """Turn two-factor on as a person does: read the key off the page, type the app's code."""
    page = client.get("/account/two-factor/").content.decode()
    secret = re.search(r'id="totp-secret"[^>]*>(\w+)<', page).group(1)
    shown = client.post("/account/two-factor/", {"code": code(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<li>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</li>", shown.content.decode())
    return secret, codes


@pytest.fixture
def enabled(client, user):
    log_in(client)
    secret, codes = enable(client)
    client.post("/logout/")
    return secret, codes


def test_it_shows_the_key_as_text_and_as_a_qr_code_and_keeps_it_encrypted(client, user):
    log_in(client)
    page = client.get("/account/two-factor/").content.decode()
    assert "<svg" in page and 'aria-label="QR code of your two-factor key"' in page
    assert 'inputmode="numeric"' in page and 'autocomplete="one-time-code"' in page
    assert "<label for=\"id_code\">Code</label>" in page
    secret_shown = re.search(r'id="totp-secret"[^>]*>(\w+)<', page).group(1)
    assert secret_shown in client.get("/account/two-factor/").content.decode()  # the same key until it is confirmed

    secret, codes = enable(client)

    assert len(codes) == 10 and len(set(codes)) == 10
    stored = Profile.objects.get(user=user).totp_secret
    assert secret not in stored and decrypt(stored) == secret
    assert not RecoveryCode.objects.filter(digest__in=codes).exists()  # digests only
    assert "Two-factor authentication" in client.get("/account/").content.decode()
    assert "<span class=\"badge verified\">On</span>" in client.get("/account/").content.decode()


def test_it_refuses_to_turn_on_with_a_wrong_code(client, user):
    log_in(client)
    client.get("/account/two-factor/")
    refused = client.post("/account/two-factor/", {"code": "000000"})
    assert refused.status_code == 400 and "That code is not right" in refused.content.decode()
    assert not Profile.objects.filter(user=user).exclude(totp_secret="").exists()


def test_a_login_with_two_factor_needs_the_code_and_the_half_signed_in_session_reaches_nothing(client, enabled):
    secret, _ = enabled
    first = log_in(client, REMOTE_ADDR="10.0.0.1")
    assert first["Location"] == "/login/two-factor/"

    for path in ("/", "/account/", "/account/two-factor/", "/team/", "/tokens/"):
        assert client.get(path)["Location"].startswith("/login/"), path
    second_step = client.get("/login/two-factor/").content.decode()
    assert 'inputmode="numeric"' in second_step and "Use a recovery code" in second_step

    reused = client.post("/login/two-factor/", {"code": code(secret)})  # the code that turned it on
    assert "That code is not right (or was already used)" in reused.content.decode()
    assert client.get("/")["Location"].startswith("/login/")

    assert client.post("/login/two-factor/", {"code": code(secret, 1)})["Location"] == "/"
    assert client.get("/account/").status_code == 200


def test_a_code_is_accepted_once(client, enabled):
    secret, _ = enabled
    log_in(client)
    assert client.post("/login/two-factor/", {"code": code(secret, 1)})["Location"] == "/"
    client.post("/logout/")
    log_in(client)
    again = client.post("/login/two-factor/", {"code": code(secret, 1)})
    assert again.status_code == 200 and client.get("/")["Location"].startswith("/login/")


def test_a_code_more_than_one_step_away_is_refused(client, enabled):
    secret, _ = enabled
    log_in(client)
    client.post("/login/two-factor/", {"code": code(secret, 3)})
    assert client.get("/")["Location"].startswith("/login/")


def test_a_recovery_code_logs_in_once(client, enabled):
    _, codes = enabled
    log_in(client)
    page = client.get("/login/two-factor/?with=recovery").content.decode()
    assert "<label for=\"id_code\">Recovery code</label>" in page
    assert client.post("/login/two-factor/", {"code": codes[0].upper(), "recovery": "1"})["Location"] == "/"
    client.post("/logout/")

    log_in(client)
    refused = client.post("/login/two-factor/", {"code": codes[0], "recovery": "1"})
    assert refused.status_code == 200 and client.get("/")["Location"].startswith("/login/")
    assert client.post("/login/two-factor/", {"code": codes[1], "recovery": "1"})["Location"] == "/"
    assert "8 recovery codes left" in client.get("/account/").content.decode()


def test_the_second_step_keeps_next_and_expires(client, enabled, monkeypatch):
    secret, _ = enabled
    client.post("/login/?next=/sites/new/", {"email": "ada@example.com", "password": PASSWORD})
    assert client.post("/login/two-factor/", {"code": code(secret, 1)})["Location"] == "/sites/new/"
    client.post("/logout/")

    log_in(client)
    real = totp.time.time
    monkeypatch.setattr("accounts.signin.time.time", lambda: real() + 301)
    expired = client.post("/login/two-factor/", {"code": code(secret, -1)})
    assert expired["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")


def test_turning_it_off_or_renewing_recovery_codes_needs_a_current_code(client, enabled, user):
    secret, old_codes = enabled
    log_in(client)
    client.post("/login/two-factor/", {"code": code(secret, 1)})

    refused = client.post("/account/two-factor/", {"code": "123456", "action": "disable"})
    assert refused.status_code == 400 and Profile.objects.get(user=user).totp_secret

    renewed = client.post("/account/two-factor/", {"code": old_codes[0], "action": "regenerate"})
    new_codes = re.findall(r"<li>([a-z0-9-]{19})</li>", renewed.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert RecoveryCode.objects.filter(user=user).count() == 10

    off = client.post("/account/two-factor/", {"code": new_codes[0], "action": "disable"})
    assert off["Location"] == "/account/"
    assert Profile.objects.get(user=user).totp_secret == "" and not RecoveryCode.objects.filter(user=user).exists()
    client.post("/logout/")
    assert log_in(client)["Location"] == "/"


def test_staff_turn_it_off_for_a_customer_who_lost_app_and_codes(client, enabled, user):
    staff = with_two_factor(get_user_model().objects.create_superuser(username="admin", email="", password=PASSWORD))
    client.force_login(staff)
    profile = Profile.objects.get(user=user)
    page = client.get(f"/admin/accounts/profile/{profile.pk}/change/").content.decode()
    assert decrypt(profile.totp_secret) not in page and profile.totp_secret not in page

    client.post("/admin/accounts/profile/", {"action": "turn_off_two_factor", "_selected_action": [profile.pk]})

    assert Profile.objects.get(user=user).totp_secret == "" and not RecoveryCode.objects.filter(user=user).exists()
    client.post("/logout/")
    assert log_in(client)["Location"] == "/"
