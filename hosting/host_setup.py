"""Getting a host ready to run site containers: the isolated site networks and their firewall, and
keeping that firewall in place while the agent runs."""
from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from django.conf import settings

from hosting.engine import ContainerEngine
from hosting.firewall import SiteBridge, apply_site_firewall, firewall_problems

log = logging.getLogger(__name__)

# Several agents may share one machine (tests, a staging host): one applies the rules at a time.
LOCK_PATH = Path("/run/lock/hosting-site-firewall.lock")


def site_bridges() -> list[SiteBridge]:
    return [SiteBridge(settings.SITE_BRIDGE, smtp_allowed=False), SiteBridge(settings.SITE_SMTP_BRIDGE, smtp_allowed=True)]


def blocked_networks() -> dict[str, list[str]]:
    return {"ipv4": list(settings.SITE_BLOCKED_NETWORKS), "ipv6": list(settings.SITE_BLOCKED_NETWORKS_V6)}


@contextmanager
def _firewall_lock() -> Iterator[None]:
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def prepare_host(engine: ContainerEngine) -> None:
    """Idempotent: create the site networks if missing and (re)apply the site firewall."""
    engine.ensure_site_network(settings.SITE_NETWORK, settings.SITE_BRIDGE, settings.SITE_SUBNET)
    engine.ensure_site_network(settings.SITE_SMTP_NETWORK, settings.SITE_SMTP_BRIDGE, settings.SITE_SMTP_SUBNET)
    with _firewall_lock():
        apply_site_firewall(site_bridges(), blocked_networks())


def ensure_site_firewall() -> list[str]:
    """Re-apply the site firewall when any part of it is missing or stale; returns what was wrong.

    Cheap when all is well (one iptables-save per address family), so the heartbeat calls it: a
    dockerd restart re-inserts dockerd's rules at the top of FORWARD, and a reboot or a flush by
    hand empties everything; sites must not run unfenced until the next agent start."""
    found = firewall_problems(site_bridges(), blocked_networks())
    if found:
        with _firewall_lock():
            # Another agent on this machine may have repaired it while we waited for the lock.
            if firewall_problems(site_bridges(), blocked_networks()):
                apply_site_firewall(site_bridges(), blocked_networks())
    return found
