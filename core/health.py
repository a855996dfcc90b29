"""The platform's health: the database, Redis, and the parts each app checks (the fleet: its hosts)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from django.conf import settings
from django.db import DatabaseError, connection

from core.redis_client import redis_client


@dataclass
class Health:
    database: dict
    redis: dict
    hosts: dict = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return (
            self.database["ok"]
            and self.redis["ok"]
            and bool(self.hosts)
            and all(h["ok"] for h in self.hosts.values())
        )

    def as_dict(self, details: bool = False) -> dict:
        """The status alone, or with every part (host names, versions, error texts) for staff:
        those are a map of the platform's internals that an anonymous caller has no use for."""
        status = {"status": "ok" if self.healthy else "unhealthy"}
        if not details:
            return status
        return {**status, "database": self.database, "redis": self.redis, "hosts": self.hosts or {}}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "engine": connection.vendor}
    except DatabaseError as exc:
        return {"ok": False, "engine": connection.vendor, "error": str(exc).strip().splitlines()[0]}


def check_redis(url: str | None = None) -> dict:
    client = redis_client(url or settings.REDIS_URL)
    try:
        client.ping()
        return {"ok": True}
    except Exception as exc:  # any failure to answer PING is "down", whatever the cause
        return {"ok": False, "error": str(exc)}
    finally:
        client.close()


def platform_health(check_hosts: Callable[[], dict]) -> Health:
    """The database and Redis, and `check_hosts()` (which reads the database) while it answers."""
    database = check_database()
    try:
        hosts = check_hosts() if database["ok"] else {}
    except DatabaseError:
        hosts = {}
    return Health(database=database, redis=check_redis(), hosts=hosts)
