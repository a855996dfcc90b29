"""Getting a host ready to run site containers: the isolated site network and its firewall."""
from __future__ import annotations

import fcntl
from pathlib import Path

from django.conf import settings

from hosting.engine import ContainerEngine
from hosting.firewall import apply_site_firewall

# Several agents may share one machine (tests, a staging host): one applies the rules at a time.
LOCK_PATH = Path("/run/lock/hosting-site-firewall.lock")


def prepare_host(engine: ContainerEngine) -> None:
    """Idempotent: create the site network if missing and (re)apply the site firewall."""
    engine.ensure_site_network(settings.SITE_NETWORK, settings.SITE_BRIDGE, settings.SITE_SUBNET)
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        apply_site_firewall(settings.SITE_BRIDGE, settings.SITE_BLOCKED_NETWORKS)
