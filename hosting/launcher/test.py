"""`make test`: throwaway PostgreSQL and Redis, a Docker daemon if none answers, then pytest.

    python -m hosting.launcher.test [pytest arguments]

The exit status is pytest's. Everything started here is stopped again, whatever happens.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from hosting.launcher import Abort, fail, say
from hosting.launcher.services import (
    start_dockerd_if_needed,
    start_redis,
    start_throwaway_postgres,
    unmount_everything_under,
)

BASE_DIR = Path(__file__).resolve().parents[2]


def build_images(env_for_children: dict[str, str]) -> None:
    """Build the OS and runtime images when their recipe changed (a cold build takes minutes)."""
    say("Building the OS and runtime images (only those whose recipe changed)")
    env = {**os.environ, **env_for_children, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run([sys.executable, "manage.py", "build_images"], cwd=BASE_DIR, env=env)
    if result.returncode != 0:
        raise Abort("Building the images failed (see the messages above).")


def main(pytest_args: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="hosting-test-"))
    work.chmod(0o711)  # PostgreSQL runs as its own user and must reach its directory inside
    log_dir = work / "log"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        stack.callback(unmount_everything_under, work)
        try:
            dockerd = start_dockerd_if_needed(log_dir)
            if dockerd:
                stack.callback(dockerd.stop)
            build_images(env_for_children={"DATA_DIR": str(work / "data")})
            say("Starting a throwaway PostgreSQL")
            postgres, database_url = start_throwaway_postgres(work / "postgres", log_dir)
            stack.callback(postgres.stop)
            say("Starting a throwaway Redis")
            socket_path = work / "redis.sock"
            redis = start_redis(socket_path, work / "redis", log_dir, persistent=False)
            stack.callback(redis.stop)
        except Abort as exc:
            fail(str(exc))
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis+socket://{socket_path}",
            "DATA_DIR": str(work / "data"),
            "PYTHONUNBUFFERED": "1",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        })
        say("Running the test suite")
        try:
            return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env).returncode
        except KeyboardInterrupt:
            return 130
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
