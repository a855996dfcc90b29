"""Attack tests: each module performs one attack for real against the running platform (real
Docker, git, nginx, Redis, PostgreSQL, Celery) and checks it failed and left nothing outside the
tenant changed. They use the integration tier's fixtures and helpers."""
from tests.integration.conftest import *  # noqa: F401,F403  (pytest finds fixtures by name)
