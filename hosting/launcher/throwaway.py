"""Throwaway services for tests and benchmarks: PostgreSQL, Redis, and dockerd if none answers."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hosting.launcher import Abort, say
from hosting.launcher.permissions import platform_account
from hosting.launcher.services import (
    start_dockerd_if_needed,
    start_redis,
    start_throwaway_postgres,
    unmount_everything_under,
)

BASE_DIR = Path(__file__).resolve().parents[2]


def build_images(env: dict[str, str]) -> None:
    """Build the OS and runtime images when their recipe changed (a cold build takes minutes)."""
    say("Building the OS and runtime images (only those whose recipe changed)")
    result = subprocess.run([sys.executable, "manage.py", "build_images"], cwd=BASE_DIR, env=env)
    if result.returncode != 0:
        raise Abort("Building the images failed (see the messages above).")


@contextmanager
def throwaway_services(prefix: str) -> Iterator[dict[str, str]]:
    """Start everything the platform needs in a temporary directory; yields the environment for
    child processes. Everything started is stopped and the directory removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o711)  # PostgreSQL runs as its own user and must reach its directory inside
    log_dir = work / "log"
    env = dict(os.environ)
    env.update({
        "DATA_DIR": str(work / "data"),
        "PYTHONUNBUFFERED": "1",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    })
    processes = []
    try:
        dockerd = start_dockerd_if_needed(log_dir)
        if dockerd:
            processes.append(dockerd)
        build_images(env)
        say("Starting a throwaway PostgreSQL")
        postgres, database_url = start_throwaway_postgres(work / "postgres", log_dir)
        processes.append(postgres)
        say("Starting a throwaway Redis")
        # As the platform user, as `make run` does: the platform's processes under test run as it.
        account = platform_account(env.get("PLATFORM_USER") or "hosting")
        redis_dir = work / "redis"
        redis_dir.mkdir(mode=0o700)
        os.chown(redis_dir, account.uid, account.gid)
        socket_path = redis_dir / "redis.sock"
        processes.append(start_redis(socket_path, redis_dir, log_dir, persistent=False, account=account))
        env.update({"DATABASE_URL": database_url, "REDIS_URL": f"redis+socket://{socket_path}"})
        yield env
    finally:
        for process in reversed(processes):
            process.stop()
        unmount_everything_under(work)
        shutil.rmtree(work, ignore_errors=True)
