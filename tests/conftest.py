"""Shared test set-up: tiers by directory, and helpers for tests that start real processes."""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "security", "e2e", "resilience")


def _tier(item: pytest.Item) -> str:
    return Path(item.fspath).resolve().relative_to(TESTS_DIR).parts[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # The directory names the tier: tests/unit -> @pytest.mark.unit, and so on.
    for item in items:
        if _tier(item) in TIERS:
            item.add_marker(getattr(pytest.mark, _tier(item)))
    # Tier by tier, after pytest-django has put tests using the database first and transactional
    # ones next (trylast: its sort ran; this one is stable and keeps that order inside each tier).
    # Its sort alone mixes the tiers: unit tests with transactional_db then ran after integration
    # tests had started the platform, whose agent writes its Host row into the same test database
    # while they flush and load it (CI: test_backups' restore met the agent's "platform-test").
    items.sort(key=lambda item: TIERS.index(_tier(item)) if _tier(item) in TIERS else len(TIERS))


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


FLUSH_ATTEMPTS = 5


def _flush_retrying_on_lock_conflicts(flush):
    """Wrap TransactionTestCase's teardown flush: the real worker, agent and beat a test started
    may still be writing (a reconcile, an unsuspended site starting) when the TRUNCATE of every
    table runs, and PostgreSQL then picks the flush as a deadlock's victim. The flush ran in one
    transaction and rolled back, so running it again is safe; anything else still fails at once."""
    import functools
    import time

    from django.core.management.base import CommandError
    from django.db import OperationalError

    @functools.wraps(flush)
    def teardown(self):
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                return flush(self)
            except CommandError as error:
                if attempt == FLUSH_ATTEMPTS or not _is_lock_conflict(error.__cause__, OperationalError):
                    raise
                time.sleep(0.2 * attempt)

    return teardown


def _is_lock_conflict(cause, operational_error) -> bool:
    # Django's OperationalError wraps psycopg's; its SQLSTATE says which. 40P01 deadlock_detected,
    # 55P03 lock_not_available, 40001 serialization_failure.
    sqlstate = getattr(getattr(cause, "__cause__", None), "sqlstate", None)
    return isinstance(cause, operational_error) and sqlstate in {"40P01", "55P03", "40001"}


def pytest_configure(config):
    from django.test import TransactionTestCase

    TransactionTestCase._fixture_teardown = _flush_retrying_on_lock_conflicts(
        TransactionTestCase._fixture_teardown)
