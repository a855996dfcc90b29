"""Signed-in browsers for the portal's page tests, and the query count of a page."""
from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import get_or_create_user

PASSWORD = "a long enough passphrase 42"


def signed_in(email: str, password: str = PASSWORD) -> Client:
    """A client signed in as `email` (created if needed), whose password is then `password`."""
    user = get_or_create_user(email)
    user.set_password(password)
    user.save(update_fields=["password"])
    client = Client()
    client.force_login(user)
    return client


def queries_of(client: Client, url: str, **params) -> int:
    """How many queries a GET of `url` takes (it must succeed)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return len(queries)
