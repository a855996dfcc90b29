"""The edge tells apps the client's address and nothing the client claims (issue 15): every location
that proxies to a site or the portal sets X-Real-IP and X-Forwarded-For to $remote_addr, replacing
whatever the client sent. The real nginx is tests/security/test_forwarded_for.py."""
from __future__ import annotations

import re

import pytest

from proxy.edge import EdgeNginx

pytestmark = pytest.mark.django_db


def proxied_locations(config: str) -> list[str]:
    """The text of each location block that has a proxy_pass."""
    blocks = re.findall(r"location [^{]*\{((?:[^{}]|\{[^{}]*\})*)\}", config)
    return [block for block in blocks if "proxy_pass" in block]


@pytest.mark.parametrize("https", [False, True])
def test_every_proxied_location_sets_the_clients_address_and_nothing_else(settings, tmp_path, https):
    settings.PLATFORM_HTTPS = https
    locations = proxied_locations(EdgeNginx(prefix=tmp_path / "edge").render())
    assert locations
    for block in locations:
        headers = dict(re.findall(r"proxy_set_header\s+(\S+)\s+([^;]+);", block))
        assert headers.get("X-Real-IP") == "$remote_addr", block
        assert headers.get("X-Forwarded-For") == "$remote_addr", block  # reset, never $proxy_add_x_forwarded_for
