"""The fleet's part of the platform's health: every registered host and whether it heartbeats."""
from __future__ import annotations

from django.utils import timezone

from hosting.models import Host


def check_hosts() -> dict:
    now = timezone.now()
    hosts = {}
    for host in Host.objects.all():
        up = host.is_up(now)
        hosts[host.name] = {
            "ok": up,
            "status": "up" if up else "down",
            "last_heartbeat": host.last_heartbeat.isoformat() if host.last_heartbeat else None,
            "cpus": host.cpus,
            "memory_mb": host.memory_mb,
            "docker_version": host.docker_version,
        }
    return hosts
