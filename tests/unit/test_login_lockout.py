"""The login lockout locks the attacker's (account, address) pair or address, for a while: never the
account's owner from their own address, never for ever."""
from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings

from accounts import totp
from accounts.models import Profile
from tests.unit.portal_logins import PASSWORD, fast_password_hashing, owner_with_password  # noqa: F401

pytestmark = pytest.mark.django_db

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS = 3
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    settings.LOGIN_LOCKOUT_SECONDS = 900


@pytest.fixture
def user():
    return owner_with_password("acme", "ada@example.com")


@pytest.fixture
def clock(monkeypatch):
    """time.time, moved on by the test (the cache's expiry reads it too)."""
    real = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    return offset


def attempt(address: str, password: str, email: str = "ada@example.com") -> str:
    response = Client(REMOTE_ADDR=address).post("/login/", {"email": email, "password": password})
    return response["Location"] if response.status_code == 302 else response.content.decode()


def test_it_locks_the_pair_not_the_owner_from_another_address_and_the_lock_ends(user, clock):
    assert "do not match" in attempt(ATTACKER, "guess 1")
    assert "do not match" in attempt(ATTACKER, "guess 2")
    assert "Too many failed logins: try again in 15 minutes" in attempt(ATTACKER, "guess 3")

    assert "Too many failed logins" in attempt(ATTACKER, PASSWORD)  # even the right password waits
    assert attempt(OWNER, PASSWORD) == "/"
    clock[0] = 600
    assert "try again in 5 minutes" in attempt(ATTACKER, PASSWORD)
    clock[0] = 901
    assert attempt(ATTACKER, PASSWORD) == "/"


def test_one_ipv6_network_counts_as_one_address(user):
    for host in range(1, 4):
        said = attempt(f"2001:db8:1:2::{host}", "guess")
    assert "Too many failed logins" in said
    assert "Too many failed logins" in attempt("2001:db8:1:2:ffff::9", PASSWORD)  # the same /64
    assert attempt("2001:db8:1:3::1", PASSWORD) == "/"  # the next /64 is someone else


def test_it_forgets_a_pairs_failures_after_a_login(user):
    attempt(OWNER, "typo 1")
    attempt(OWNER, "typo 2")
    assert attempt(OWNER, PASSWORD) == "/"
    attempt(OWNER, "typo 3")
    attempt(OWNER, "typo 4")
    assert attempt(OWNER, PASSWORD) == "/"


def test_it_locks_an_address_that_tries_many_accounts(user):
    for number in range(5):
        attempt(ATTACKER, "guess", email=f"someone{number}@example.com")
    assert "Too many failed logins" in attempt(ATTACKER, PASSWORD)
    assert attempt(OWNER, PASSWORD) == "/"


def test_it_says_the_same_for_an_account_that_does_not_exist(user):
    for _ in range(3):
        unknown = attempt(ATTACKER, "guess", email="nobody@example.com")
    assert "Too many failed logins" in unknown


def test_wrong_two_factor_codes_count_too(user, client):
    client.post("/login/", {"email": "ada@example.com", "password": PASSWORD})
    client.get("/account/two-factor/")
    secret = client.session["two_factor_pending_secret"]
    client.post("/account/two-factor/", {"code": totp.code_at(secret, totp.current_step())})
    client.post("/logout/")

    attacker = Client(REMOTE_ADDR=ATTACKER)  # who has the password, not the phone
    attacker.post("/login/", {"email": "ada@example.com", "password": PASSWORD})
    attacker.post("/login/two-factor/", {"code": "000000"})
    attacker.post("/login/two-factor/", {"code": "111111"})
    locked = attacker.post("/login/two-factor/", {"code": "222222"}, follow=True)
    assert "Too many failed logins" in locked.content.decode()
    attacker.post("/login/", {"email": "ada@example.com", "password": PASSWORD})
    assert attacker.post("/login/two-factor/", {"code": totp.code_at(secret, totp.current_step() + 1)}).status_code == 302
    assert attacker.get("/")["Location"].startswith("/login/")  # still locked: the right code did not pass


def test_wrong_codes_to_turn_two_factor_off_count_too(user, client):
    client.post("/login/", {"email": "ada@example.com", "password": PASSWORD})
    client.get("/account/two-factor/")
    secret = client.session["two_factor_pending_secret"]
    client.post("/account/two-factor/", {"code": totp.code_at(secret, totp.current_step())})

    for guess in ("000000", "111111", "222222"):
        answer = client.post("/account/two-factor/", {"code": guess, "action": "disable"}).content.decode()
    assert "Too many failed logins" in answer
    right = client.post("/account/two-factor/", {"code": totp.code_at(secret, totp.current_step() + 1),
                                                 "action": "disable"})
    assert right.status_code == 400 and Profile.objects.get(user=user).totp_secret


def test_it_fails_closed_when_the_cache_is_down(user):
    gone = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": "unix:///nonexistent/redis.sock",
                        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}}}
    with override_settings(CACHES=gone):
        response = Client(raise_request_exception=False).post("/login/", {"email": "ada@example.com",
                                                                          "password": PASSWORD})
    assert response.status_code == 503
