"""People who log in to the portal, for the accounts tests: an owner with a password."""
from __future__ import annotations

import pytest

from accounts.services import create_organization, get_or_create_user

PASSWORD = "correct horse battery staple"


def owner_with_password(slug: str, email: str):
    """The owner of a new organization `slug`, made as an operator's command makes one, then given
    a password (so no e-mail confirmation is due)."""
    create_organization(slug, email)
    user = get_or_create_user(email)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Django's real hasher takes most of a test's time; these tests are about the flow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
