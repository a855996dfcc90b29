"""Naming rules shared by every app, defined once: a DNS label (host names, organization slugs, site
names, the parts of container names, each label of a hostname) and an environment variable's key.
Match with `fullmatch` (or the helpers here): `$` alone also matches before a trailing newline."""
from __future__ import annotations

import re

# The pattern's text is also in hosting's first migration (the Host.name validator): keep it as is.
DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def is_dns_label(value: object, max_length: int = 63) -> bool:
    """Lowercase letters, digits and inner hyphens, 1 to `max_length` (at most 63) characters."""
    return isinstance(value, str) and len(value) <= max_length and DNS_LABEL.fullmatch(value) is not None


def is_env_key(value: object) -> bool:
    """Letters, digits and underscores, not starting with a digit, at most 128 characters."""
    return isinstance(value, str) and ENV_KEY.fullmatch(value) is not None
