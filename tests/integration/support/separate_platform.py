"""A whole platform of its own: its own database (on the throwaway PostgreSQL), Redis, data
directory and ports, started from the Procfile like `make run` (launcher.stack). For tests
that need a machine no other test shares, such as one restored from a backup."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings

from core.data_dir import platform_account
from launcher.processes import ManagedProcess, free_tcp_port
from launcher.services import start_redis, unmount_everything_under
from launcher.stack import start_platform, stop_platform, wait_until_ready
from tests.integration.support.deploying import Customer, Platform
from tests.integration.support.processes import BASE_DIR, database_url


def _admin_connection() -> psycopg.Connection:
    database = settings.DATABASES["default"]
    return psycopg.connect(host=database["HOST"], port=database["PORT"], user=database["USER"],
                           password=database["PASSWORD"], dbname="postgres", autocommit=True)


@dataclass
class SeparatePlatform:
    """One platform's database, Redis and directory; `start` runs its processes, `stop` ends them."""

    root: Path  # the hosting user passes through it (see launcher.permissions)
    host_name: str
    database: str = field(default_factory=lambda: f"backup_{uuid.uuid4().hex[:10]}")
    processes: object = None  # the supervisord of its processes (launcher.supervisor), while started
    redis: ManagedProcess | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(mode=0o711, parents=True)
        self.data_dir = self.root / "data"
        self.ports = (free_tcp_port(), free_tcp_port(), free_tcp_port())  # portal, edge HTTP, edge HTTPS
        with _admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        account = platform_account(os.environ.get("PLATFORM_USER") or "hosting")
        redis_dir = self.root / "redis"
        redis_dir.mkdir(mode=0o700)
        os.chown(redis_dir, account.uid, account.gid)
        self.redis = start_redis(redis_dir / "redis.sock", redis_dir, self.root, persistent=False, account=account)
        portal, http, https = self.ports
        self.env = {**os.environ, "DATA_DIR": str(self.data_dir), "DATABASE_URL": database_url(self.database),
                    "REDIS_URL": f"redis+socket://{redis_dir / 'redis.sock'}", "PYTHONUNBUFFERED": "1",
                    "PORTAL_BIND": f"127.0.0.1:{portal}", "PROXY_HTTP_PORT": str(http), "PROXY_HTTPS_PORT": str(https),
                    "HOST_NAME": self.host_name, "WORKER_NAME": f"control-{self.database}", "HEARTBEAT_INTERVAL": "2",
                    "HOST_DOWN_AFTER": "10", "DRAIN_SECONDS": "1", "START_TIMEOUT": "30",
                    "LOG_RELAY_PORT": str(free_tcp_port())}  # its own: the other platforms' agents hold theirs
        for name in ("ACME_DIRECTORY_URL", "SECRET_KEY", "FERNET_KEY"):
            self.env.pop(name, None)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """`manage.py <args>` as root against this platform."""
        return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, capture_output=True,
                              text=True, timeout=600)

    def start(self) -> Platform:
        log_dir = self.root / f"log-{uuid.uuid4().hex[:6]}"
        log_dir.mkdir()
        self.processes = start_platform(self.env, log_dir)
        portal, http, https = self.ports
        wait_until_ready(self.processes, portal, http)
        return Platform(f"http://127.0.0.1:{portal}", http, self.data_dir, self.processes, https)

    def stop(self) -> None:
        if self.processes:
            stop_platform(self.processes)
        self.processes = None

    def remove(self) -> None:
        self.stop()
        if self.redis:
            self.redis.stop()
        with _admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        unmount_everything_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def customer_of(platform: SeparatePlatform, organization: str) -> Customer:
    """An organization with its owner and an API token, made with the operator's commands."""
    email = f"owner@{organization}.example.com"
    for args in (("create_org", organization, "--owner", email), ("create_token", email)):
        result = platform.manage(*args)
        assert result.returncode == 0, result.stderr
    return Customer(email, result.stdout.strip().splitlines()[-1], organization)
