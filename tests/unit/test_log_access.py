"""The token that lets the web server read one instance's logs through its host's relay
(hosting/log_access.py): for exactly one container on exactly one host, for a minute."""
from __future__ import annotations

import time

from django.core import signing
from django.test import override_settings

from hosting import log_access
from hosting.log_access import grant, granted_container, permits
from hosting.models import Host


def test_it_grants_the_container_on_the_host():
    assert permits(grant("h2", "site-shop-v1-d1"), "h2", "site-shop-v1-d1")
    assert granted_container(grant("h2", "site-shop-v1-d1"), "h2") == "site-shop-v1-d1"


def test_it_refuses_another_container():
    assert not permits(grant("h2", "site-shop-v1-d1"), "h2", "site-blog-v1-d2")


def test_it_refuses_another_host():
    assert not permits(grant("h1", "site-shop-v1-d1"), "h2", "site-shop-v1-d1")
    assert granted_container(grant("h1", "site-shop-v1-d1"), "h2") is None


def test_it_refuses_an_expired_token(monkeypatch):
    token = grant("h2", "site-shop-v1-d1")
    later = time.time() + log_access.TOKEN_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)

    assert not permits(token, "h2", "site-shop-v1-d1")


def test_it_refuses_a_token_signed_with_another_key():
    with override_settings(SECRET_KEY="another installation's key " * 3):
        forged = grant("h2", "site-shop-v1-d1")

    assert not permits(forged, "h2", "site-shop-v1-d1")


def test_it_refuses_a_token_for_something_else_signed_by_the_platform():
    # Another use of the same key (another salt) is no log token.
    other = signing.dumps({"h": "h2", "c": "site-shop-v1-d1"}, salt="something.else")

    assert not permits(other, "h2", "site-shop-v1-d1")
    assert not permits("", "h2", "site-shop-v1-d1")


@override_settings(LOG_RELAY_PORT=7701)
def test_it_reaches_the_relay_on_the_hosts_own_service_address():
    assert log_access.relay_url(Host(name="h2", service_address="10.0.0.7")) == "tcp://10.0.0.7:7701"
    assert log_access.relay_url(Host(name="h3", service_address="fd00::7")) == "tcp://[fd00::7]:7701"
