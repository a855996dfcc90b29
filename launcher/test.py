"""`make test`: throwaway PostgreSQL and Redis, a Docker daemon if none answers, then pytest.

    python -m launcher.test [pytest arguments]

The exit status is pytest's. Everything started here is stopped again, whatever happens.
"""
from __future__ import annotations

import subprocess
import sys

from launcher import Abort, fail, say
from launcher.throwaway import BASE_DIR, throwaway_services


def main(pytest_args: list[str]) -> int:
    try:
        with throwaway_services("hosting-test-") as env:
            say("Running the test suite")
            try:
                return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env).returncode
            except KeyboardInterrupt:
                return 130
    except Abort as exc:
        fail(str(exc))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
