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
