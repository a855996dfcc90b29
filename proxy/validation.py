"""What may reach the nginx config: hostnames, group names and upstream addresses, by allowlist."""
from __future__ import annotations

import ipaddress
import re

from core.names import is_dns_label

# A route group is the site's uuid (32 hex digits), never its name: a name is reused by the next
# site that takes it, and routes, traffic or certificates keyed by it would pass to that site.
GROUP = re.compile(r"^[0-9a-f]{32}$")


class InvalidRouteValue(ValueError):
    pass


def validate_hostname(hostname: str) -> str:
    """A lowercase ASCII DNS name (IDN already in punycode); nothing nginx could read as syntax."""
    if not isinstance(hostname, str) or not 1 <= len(hostname) <= 253:
        raise InvalidRouteValue(f"{hostname!r} is not a hostname.")
    labels = hostname.split(".")
    if len(labels) < 2 or not all(is_dns_label(label) for label in labels):
        raise InvalidRouteValue(f"{hostname!r} is not a hostname: use letters, digits, hyphens and dots.")
    return hostname


def validate_group(group: str) -> str:
    if not isinstance(group, str) or not GROUP.match(group):
        raise InvalidRouteValue(f"{group!r} is not a route group (a site's uuid in hex).")
    return group


def validate_upstream(address: str) -> str:
    host, sep, port = address.rpartition(":")
    try:
        ipaddress.IPv4Address(host)
        valid = sep and port.isdigit() and 1 <= int(port) <= 65535
    except ValueError:
        valid = False
    if not valid:
        raise InvalidRouteValue(f"{address!r} is not an IPv4 address with a port.")
    return address
