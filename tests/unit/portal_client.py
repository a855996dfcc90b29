"""The portal as a member of the `world` fixture sees it (tests/unit/conftest.py)."""
from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import get_or_create_user


def signed_in(who: str) -> Client:
    """A browser signed in as `<who>@example.com` (owner, admin, developer, viewer, outsider)."""
    client = Client()
    client.force_login(get_or_create_user(f"{who}@example.com"))
    return client


def queries_of(url: str, who: str = "owner") -> int:
    """How many queries a GET of `url` makes (it must answer 200)."""
    client = signed_in(who)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)
