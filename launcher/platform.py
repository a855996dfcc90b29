"""Preparing the platform before its processes start: configuration, database, staff login."""
from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection

from launcher import Abort


def redacted(url: str) -> str:
    """The URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def load_django() -> None:
    """Configure Django, turning a bad setting into one sentence."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise Abort(f"Bad configuration: {exc}") from None


def check_database() -> None:
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Abort(
            f"The database at {redacted(settings.DATABASE_URL)} is not reachable ({reason}); check DATABASE_URL."
        ) from None
    finally:
        connection.close()
