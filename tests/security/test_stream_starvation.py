"""Attack: one tenant starves the portal with long-lived streams.

The attacker opens 100 log follow streams on its own site and 5 pushes that never finish sending,
then (while they are all open) the platform's /healthz and another organization's API call must
each answer within a second. The streams are then dropped without a word: the server must notice
and free them, although the followed site prints nothing. One more stream than the per-organization
cap is refused with 429. (The test platform raises that cap to 105, so that one organization really
holds 105 streams: the point is that the server survives them.)
"""
from __future__ import annotations

import base64
import socket
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.support.deploying import api, create_site, push, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.security

FOLLOWS = 100
PUSHES = 5
CAP = 105  # STREAMS_PER_ORGANIZATION of the test platform (tests/integration/conftest.py)
ANSWER_WITHIN = 1.0
GIVE_UP = 20.0  # a request still unanswered after this long counts as starved


def _portal_address(platform) -> tuple[str, int]:
    parts = urlsplit(platform.portal)
    return parts.hostname, parts.port


def _send(platform, head: str) -> socket.socket:
    sock = socket.create_connection(_portal_address(platform), timeout=10)
    sock.sendall(head.encode())
    return sock


def _follow(platform, customer, site: str) -> socket.socket:
    return _send(platform, (
        f"GET /api/v1/sites/{site}/logs/?follow=1&lines=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {customer.token}\r\n\r\n"
    ))


def _slow_push(platform, customer, site: str) -> socket.socket:
    """A push that announces a pack and never sends it: `git receive-pack` waits for it."""
    basic = base64.b64encode(f"user:{customer.token}".encode()).decode()
    return _send(platform, (
        f"POST /git/{site}.git/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Basic {basic}\r\nContent-Type: application/x-git-receive-pack-request\r\n"
        f"Content-Length: 100000\r\n\r\n"
    ))


def _head(sock: socket.socket, deadline: float) -> bytes:
    """The response head (status line and headers), or b"" when none came before `deadline`."""
    data = b""
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b""
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, OSError):
            return b""
        if not chunk:
            break
        data += chunk
    return data


def _answer(sock: socket.socket, within: float) -> bytes:
    """The response head and whatever of the body came with it (b"" when nothing came)."""
    head = _head(sock, time.monotonic() + within)
    sock.settimeout(0.5)
    try:
        return head + sock.recv(4096) if head else head
    except OSError:
        return head


def _status(head: bytes) -> int:
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def _latency(url: str, headers: dict | None = None) -> float:
    started = time.monotonic()
    try:
        requests.get(url, headers=headers or {}, timeout=GIVE_UP)
    except requests.RequestException:
        return GIVE_UP
    return time.monotonic() - started


def _latencies(platform, victim) -> tuple[float, float]:
    """The slowest of five /healthz calls and of five API calls of another organization."""
    healthz = max(_latency(f"{platform.portal}/healthz") for _ in range(5))
    other = max(_latency(f"{platform.portal}/api/v1/sites/", victim.headers()) for _ in range(5))
    return healthz, other


def _database_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _drop(sock: socket.socket, reset: bool) -> None:
    if reset:  # vanish with a TCP reset, as a killed client or a dropped link would
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _processes_with(variable: str) -> list[int]:
    """The pids whose environment holds `variable` (NAME=value, or its start)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and any(entry.startswith(variable.encode())
                                           for entry in (proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_it_answers_everyone_while_one_tenant_holds_100_follows_and_5_pushes(deploy_env, tmp_path):
    from accounts.models import Organization
    from sites.models import Site
    from sites.streams import open_streams

    platform, customers, _ = deploy_env
    attacker, victim = customers["owner"], customers["outsider"]
    site = create_site(deploy_env, "starve")
    push(deploy_env, workdir_with(tmp_path, "static"), site)
    assert api(platform, attacker, "GET", f"sites/{site}/").json()["status"] == "running"
    organization = Organization.objects.get(slug=attacker.organization)
    before = _latencies(platform, victim)
    connections_before = _database_connections()

    deadline = time.monotonic() + 60
    follows = [_follow(platform, attacker, site) for _ in range(FOLLOWS)]
    pushes = [_slow_push(platform, attacker, site) for _ in range(PUSHES)]
    follow_status = [_status(_head(sock, deadline)) for sock in follows]
    push_status = [_status(_head(sock, deadline)) for sock in pushes]
    healthz, other = _latencies(platform, victim)
    connections_held = _database_connections() - connections_before
    extra = _follow(platform, attacker, site)
    refused = _answer(extra, GIVE_UP)
    extra.close()
    print(f"\nidle: /healthz {before[0]:.3f} s, other org {before[1]:.3f} s; "
          f"with {follow_status.count(200)} follows and {push_status.count(200)} pushes open: "
          f"/healthz {healthz:.3f} s, other org {other:.3f} s; {connections_held} more database connections")

    assert follow_status == [200] * FOLLOWS, f"follows answered {sorted(set(follow_status))}"
    assert push_status == [200] * PUSHES, f"pushes answered {sorted(set(push_status))}"
    assert healthz < ANSWER_WITHIN, f"/healthz took {healthz:.2f} s under the attack"
    assert other < ANSWER_WITHIN, f"another organization's API call took {other:.2f} s under the attack"
    assert connections_held < 10, f"the open streams hold {connections_held} database connections"
    assert open_streams(organization.id) == CAP
    assert _status(refused) == 429 and b"streams at once" in refused, refused[:400]

    for number, sock in enumerate(follows + pushes):
        _drop(sock, reset=number % 2 == 1)
    dropped = time.monotonic()
    wait_for(lambda: open_streams(organization.id) == 0, 30, "the server to free the dropped streams")
    print(f"all {CAP} dropped streams freed after {time.monotonic() - dropped:.1f} s")
    # git http-backend spins on a body that ends before its Content-Length: none may be left behind.
    repository = f"PATH_INFO=/{Site.objects.get(name=site).uuid.hex}.git/"
    wait_for(lambda: not _processes_with(repository), 30, "the dropped pushes' git processes to end")
    healthz, other = _latencies(platform, victim)
    assert healthz < ANSWER_WITHIN and other < ANSWER_WITHIN, (healthz, other)
    again = _follow(platform, attacker, site)
    assert _status(_head(again, time.monotonic() + 10)) == 200
    again.close()
