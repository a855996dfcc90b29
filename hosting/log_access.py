"""Reading a site instance's logs on whichever host runs it: through that host's agent.

The web server is not root and has no Docker socket, and with several hosts the container is not
even on its machine. Each agent's log relay (hosting/log_relay.py) therefore also listens on its
host's service address, port LOG_RELAY_PORT, and passes on a read of one instance's state or logs
when the request carries a token for exactly that container on exactly that host, signed by the
control plane a moment ago.

Why a relay and not a Celery task on the host's queue: a tail answers a page that polls every 2 s
and a follow stays open for up to an hour; on the queue both would wait behind a build (an agent
runs one or two tasks at once), and a follow cannot be a task at all. The queue stays the only way
work reaches a host; reading logs is not work.

Why the token is signed with a key derived from SECRET_KEY (Django's signing, its own salt), not
with the host's own token: the control plane keeps only the digest of a host's token (manage.py
add_host prints the token once), so it cannot sign with it, and signing with the digest would make
a key of a value that sits in every database dump. Every agent already has SECRET_KEY (it runs the
same settings: it writes the fleet's rows and decrypts releases' config with FERNET_KEY), so this
adds no secret to hand out and no step to joining. A token names its host and container and lives
TOKEN_SECONDS: one caught on the wire reads that container's logs for a minute, nothing else.
"""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core import signing

from hosting.engine import ContainerEngine
from hosting.models import Host

SALT = "hosting.log_relay"
TOKEN_HEADER = "X-Hosting-Log-Token"
TOKEN_SECONDS = 60  # a follow is checked once, when it starts: only starting needs a fresh token
# Pinned, not negotiated: negotiating asks /version before the token header is set. The oldest API
# the supported Docker Engines (20.10 and later) all speak.
DOCKER_API_VERSION = "1.41"


def grant(host_name: str, container: str) -> str:
    """A token to read `container`'s state and logs on `host_name`, for TOKEN_SECONDS."""
    return signing.dumps({"h": host_name, "c": container}, salt=SALT, compress=False)


def granted_container(token: str, host_name: str) -> str | None:
    """The container a fresh `token` grants on `host_name`; None when it is forged, altered,
    expired, or for another host."""
    try:
        granted = signing.loads(token, salt=SALT, max_age=TOKEN_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(granted, dict) or granted.get("h") != host_name or not isinstance(granted.get("c"), str):
        return None
    return granted["c"]


def permits(token: str, host_name: str, container: str) -> bool:
    """Whether `token` is a fresh grant for exactly `container` on exactly `host_name`."""
    return granted_container(token, host_name) == container


def relay_url(host: Host) -> str:
    address = host.service_address
    if ipaddress.ip_address(address).version == 6:
        address = f"[{address}]"
    return f"tcp://{address}:{settings.LOG_RELAY_PORT}"


def instance_engine(host: Host, container: str, timeout: int) -> ContainerEngine:
    """A container engine that reads `container` through `host`'s relay (and nothing else: the
    relay refuses every other container and every write)."""
    return ContainerEngine(base_url=relay_url(host), timeout=timeout, version=DOCKER_API_VERSION,
                           headers={TOKEN_HEADER: grant(host.name, container)})
