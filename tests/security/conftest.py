"""Attack tests: each module performs one attack for real against the running platform (real
Docker, git, nginx, Redis, PostgreSQL, Celery) and checks it failed and left nothing outside the
tenant changed. They use the integration tier's fixtures and helpers, and host sentinels."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import *  # noqa: F401,F403  (pytest finds fixtures by name)
from tests.security.outside import outside  # noqa: F401  (a fixture: a network namespace outside)
from tests.security.sentinels import Sentinels


@pytest.fixture
def sentinels():
    """Host files an attack aims at, outside /tmp (which containers have as their own tmpfs), so a
    link to them can only reach them on the host."""
    root = Path("/var/tmp") / f"hosting-sentinels-{uuid.uuid4().hex[:8]}"
    planted = Sentinels(root)
    yield planted
    shutil.rmtree(root, ignore_errors=True)
