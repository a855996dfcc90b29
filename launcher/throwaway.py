"""Throwaway services for tests and benchmarks: PostgreSQL, Redis, and dockerd if none answers.

They run under a supervisord of their own, as `make run`'s services do, so a test may kill one
(kill -9) and see it come back; the directory of that supervisord is in the environment
(HOSTING_SERVICES_SUPERVISOR) and its logs beside it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from launcher import Abort, say
from core.data_dir import as_user, platform_account
from launcher.services import (
    DOCKERD_COMMAND,
    ThrowawayPostgres,
    docker_answers,
    dockerd_needed,
    prepare_redis,
    redis_answers,
    redis_command,
    unmount_everything_under,
)
from launcher.supervisor import SERVICES, Program, Supervisor

BASE_DIR = Path(__file__).resolve().parents[1]


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
    # As the platform user, as `make run` does: the platform's processes under test run as it.
    account = platform_account(env.get("PLATFORM_USER") or "hosting")
    redis_dir = work / "redis"
    redis_dir.mkdir(mode=0o700)
    os.chown(redis_dir, account.uid, account.gid)
    socket_path = redis_dir / "redis.sock"
    prepare_redis(socket_path, redis_dir)
    postgres = ThrowawayPostgres.init(work / "postgres", log_dir)
    programs = [
        Program("postgres", postgres.command, priority=SERVICES, stop_signal="INT", directory=str(postgres.work_dir)),
        Program("redis", as_user(account, redis_command(socket_path, redis_dir, persistent=True)), priority=SERVICES),
    ]
    if dockerd_needed():
        programs.insert(0, Program("dockerd", DOCKERD_COMMAND, priority=SERVICES - 1, stop_seconds=30))
    supervisor = Supervisor(work / "supervisor", log_dir, programs)
    try:
        say("Starting " + ", ".join(supervisor))
        supervisor.start(env)
        if "dockerd" in supervisor:
            supervisor["dockerd"].wait_until(docker_answers, timeout=60, what="waiting for the Docker API")
        build_images(env)
        supervisor["postgres"].wait_until(postgres.answers, timeout=60, what="waiting for its port")
        supervisor["redis"].wait_until(lambda: redis_answers(socket_path), timeout=20, what="waiting for PING")
        env.update({
            "DATABASE_URL": postgres.create_database(),
            "REDIS_URL": f"redis+socket://{socket_path}",
            "HOSTING_SERVICES_SUPERVISOR": str(supervisor.directory),
        })
        yield env
    finally:
        supervisor.stop()
        unmount_everything_under(work)
        shutil.rmtree(work, ignore_errors=True)
