"""Env vars pasted as a .env file (`KEY=value` per line), as customers copy them from another host.

Only the syntax is read here; keys and values are checked by sites.validation when they are set.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError

MAX_LINES = 200


def parse_dotenv(text: str) -> dict[str, str]:
    """`KEY=value` lines; blank lines and `# comments` are skipped, `export ` is allowed before a
    key, and a value wrapped in matching single or double quotes loses them (no escapes: a value
    is kept as written)."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ValidationError(f"Paste at most {MAX_LINES} lines at once.")
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"Line {number} is not NAME=value.")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    if not values:
        raise ValidationError("Paste at least one NAME=value line.")
    return values
