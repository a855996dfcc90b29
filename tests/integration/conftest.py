"""Integration tests run real processes against the services `make test` started."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    """Poll `condition` until it returns something truthy; fail the test with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def service_env(db) -> dict[str, str]:
    """The environment a child process needs to use the same test database and Redis as the test."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need the PostgreSQL and Redis that `make test` starts; run them with make test")
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ChildProcess:
    """A platform process started by a test, with its output captured in a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


@pytest.fixture
def start_process(tmp_path, service_env):
    """Start platform processes (`manage.py` commands, Celery workers); all are stopped after the test."""
    started: list[ChildProcess] = []

    def start(name: str, args: list[str], **extra_env: str) -> ChildProcess:
        env = {**service_env, **extra_env}
        process = ChildProcess(name, [sys.executable, *args], env, tmp_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_agent(start_process):
    """Start a real agent for a new host name; returns (host name, process)."""

    def start(prefix: str = "it") -> tuple[str, ChildProcess]:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        process = start_process(
            f"agent-{name}", ["manage.py", "agent", "--name", name, "--concurrency", "1"],
            HEARTBEAT_INTERVAL="1", HOST_DOWN_AFTER="5",
        )
        return name, process

    return start
