"""Joining a host: its Host row and its agent token (only the token's digest is stored).

The token is what a host's agent shows the control plane's internal endpoints (/internal/v1/:
slugs, build sources); it is printed once by `manage.py add_host` and never again.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from hosting.fleet import SingleHostDatabase, refuse_sqlite_fleet
from hosting.models import Host, validate_host_name


class HostJoinError(ValueError):
    """What the operator asked for cannot be done; the message says why."""


@dataclass(frozen=True)
class Joined:
    host: Host
    token: str
    command: str
    local_only: list[str]  # printed URLs that name this machine only (see local_only)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check(name: str, address: str) -> None:
    try:
        validate_host_name(name)
    except ValidationError as exc:
        raise HostJoinError(f"{name!r} is not a valid host name. {' '.join(exc.messages)}") from None
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise HostJoinError(f"{address!r} is not an IP address (the edge reaches the host's containers on it).") from None


def add_host(name: str, address: str, control_plane_url: str, rotate_token: bool = False, by=None) -> Joined:
    """Create host `name` (not alive until its agent registers and heartbeats) with a new agent
    token; for an existing host only with `rotate_token` (its old token stops working)."""
    _check(name, address)
    if not control_plane_url.startswith(("http://", "https://")):
        raise HostJoinError("The control plane URL (CONTROL_PLANE_URL or --control-plane-url) must be an http(s) URL "
                            "the new host reaches this web server on.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        host = Host.objects.select_for_update().filter(name=name).first()
        if host is not None and not rotate_token:
            raise HostJoinError(f"Host {name} already exists; use --rotate-token to give it a new token.")
        if host is None:
            try:
                refuse_sqlite_fleet(name)
            except SingleHostDatabase as exc:
                raise HostJoinError(str(exc)) from None
            host = Host.objects.create(name=name, service_address=address, last_heartbeat=None,
                                       token_digest=token_digest(token))
        else:
            Host.objects.filter(pk=host.pk).update(token_digest=token_digest(token), service_address=address)
            host.refresh_from_db()
        audit.record(None, "staff.host_add", name, by=by, address=address, rotated=rotate_token)
    environment = join_environment(host, token, control_plane_url)
    return Joined(host=host, token=token, command=join_command(environment), local_only=local_only(environment))


def authenticate(name: str, token: str) -> Host | None:
    """The host `name` if `token` is its agent token (compared in constant time), else None."""
    if not name or not token:
        return None
    host = Host.objects.filter(name=name).exclude(token_digest="").first()
    if host is None:
        hmac.compare_digest(token_digest(token), token_digest(""))  # same work for unknown names
        return None
    return host if hmac.compare_digest(host.token_digest, token_digest(token)) else None


def join_environment(host: Host, token: str, control_plane_url: str) -> dict[str, str]:
    """The environment the new host's agent runs with (its own data dir: no shared filesystem)."""
    return {
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": settings.DATABASE_URL,
        "CONTROL_PLANE_URL": control_plane_url,
        "HOST_NAME": host.name,
        "HOST_TOKEN": token,
        "HOST_SERVICE_ADDRESS": host.service_address,
        # The agent decrypts sites' config and labels containers with the fleet's key: the same keys.
        "SECRET_KEY": settings.SECRET_KEY,
        "FERNET_KEY": settings.FERNET_KEY,
        # The web server reads a site's logs from its host's agent on this port: the same on every host.
        "LOG_RELAY_PORT": str(settings.LOG_RELAY_PORT),
        "DATA_DIR": f"/var/lib/hosting-agent/{host.name}",
    }


def join_command(environment: dict[str, str]) -> str:
    """A shell command the operator runs as it is, in the platform's clone on the new host."""
    lines = [f"{key}={shlex.quote(str(value))}" for key, value in environment.items()]
    agent = f".venv/bin/python manage.py agent --name {shlex.quote(environment['HOST_NAME'])}"
    return " \\\n".join(["env", *lines, agent])


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def local_only(environment: dict[str, str]) -> list[str]:
    """The printed URLs only this machine can use (loopback, a unix socket, a file): the operator
    must give the new host addresses it reaches instead."""
    found = []
    for key in ("DATABASE_URL", "REDIS_URL", "CONTROL_PLANE_URL"):
        url = urlsplit(environment[key])
        if url.scheme in ("redis+socket", "unix", "sqlite") or url.hostname in LOOPBACK:
            found.append(key)
    return found
