"""Failure tests: the platform's own processes and services are killed under load, and the sites
must not notice. They use the integration tier's fixtures (the shared platform, under supervision)
and run last: each kill is repaired before the next test starts, but a failure here can leave the
shared platform worse than it found it."""
from __future__ import annotations

from tests.integration.conftest import *  # noqa: F401,F403  (pytest finds fixtures by name)
