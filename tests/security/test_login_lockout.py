"""Guessing a customer's portal password through the running platform (gunicorn's workers sharing
the counters in Redis): the guessing address is locked out, even for the right password, while
the customer logs in from their own address."""
from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long and private passphrase"


def _request(platform, method: str, path: str, source: str, headers: dict[str, str] | None = None,
             body: str | None = None) -> http.client.HTTPResponse:
    """From a loopback address of our own, so these counters are this test's alone; each request on
    a new connection, so gunicorn's workers share the work."""
    host, port = platform.portal.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read().decode(errors="replace")
    connection.close()
    return response


def _log_in(platform, email: str, password: str, source: str) -> tuple[int, str]:
    """The login form as a browser posts it (CSRF cookie and field): the status and where it leads,
    or the page's error."""
    form = _request(platform, "GET", "/login/", source)
    csrf = re.search(r"csrftoken=([^;]+)", form.getheader("Set-Cookie", "")).group(1)
    answer = _request(platform, "POST", "/login/", source, body=urlencode(
        {"csrfmiddlewaretoken": csrf, "email": email, "password": password}), headers={
        "Cookie": f"csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded"})
    if answer.status == 302:
        return 302, answer.getheader("Location")
    error = re.search(r'<div class="message error" role="alert">(.*?)</div>', answer.body, re.S)
    return answer.status, re.sub(r"<[^>]+>", " ", error.group(1)).strip() if error else answer.body[:300]


def test_guessing_a_password_locks_the_guesser_not_the_customer(platform, customers):
    from accounts.services import get_or_create_user

    owner = customers["owner"]
    user = get_or_create_user(owner.email)
    user.set_password(PASSWORD)
    user.save()

    guesses = [_log_in(platform, owner.email, f"guess {n}", "127.0.0.6") for n in range(5)]
    assert all(status == 200 for status, _ in guesses), guesses
    assert "do not match an account" in guesses[0][1]
    assert "Too many failed logins" in guesses[-1][1], guesses  # the default: 5 per account and address

    status, said = _log_in(platform, owner.email, PASSWORD, "127.0.0.6")
    assert status == 200 and "Too many failed logins" in said  # the right password waits too
    assert _log_in(platform, owner.email, PASSWORD, "127.0.0.7") == (302, "/")
