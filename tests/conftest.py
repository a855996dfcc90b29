"""Shared test set-up: tiers by directory, and helpers for tests that start real processes."""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "security", "e2e", "resilience")


def pytest_collection_modifyitems(config, items):
    # The directory names the tier: tests/unit -> @pytest.mark.unit, and so on.
    for item in items:
        relative = Path(item.fspath).resolve().relative_to(TESTS_DIR)
        tier = relative.parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def _private_cache(request):
    """Each test counts its own API throttles in a private in-memory cache, not the shared Redis
    (the platform processes a test starts use Redis through their own settings)."""
    from django.test import override_settings

    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                               "LOCATION": f"test-{request.node.nodeid}"}}):
        yield


@pytest.fixture
def admin_user(db, django_user_model, django_username_field):
    """pytest-django's superuser, with two-factor on: the staff site refuses staff without it."""
    from tests.staff_users import with_two_factor

    user = django_user_model._default_manager.create_superuser(
        **{django_username_field: "admin"}, email="admin@example.com", password="password")
    return with_two_factor(user)
