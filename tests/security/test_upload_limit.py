"""Attack: an archive upload far beyond the plan's max_push_mb, to fill the disk that holds the
database. The portal cuts it off while it streams: a declared length is refused before a byte of
the body is read, a chunked upload (no length) is answered 413 soon after the limit, long before
the attacker is done sending; no deployment or archive is stored."""
from __future__ import annotations

import select
import socket
import time

import pytest

from tests.integration.support.deploying import create_site

pytestmark = pytest.mark.django_db(transaction=True)

MB = 2**20
BOUNDARY = "attackBoundary"
HEAD = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"huge.tar\"\r\n"
        "Content-Type: application/x-tar\r\n\r\n").encode()


@pytest.fixture
def tiny_site(deploy_env):
    from accounts.models import Organization, Plan
    from sites.models import Site

    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "upload")
    plan = Plan.objects.create(name="tiny-upload", label="Tiny", memory_mb=128, cpu_millicores=100, pids_limit=64,
                               disk_mb=64, max_sites=3, max_custom_domains=1, max_push_mb=1, build_timeout_seconds=60)
    Organization.objects.filter(slug=customers["owner"].organization).update(plan=plan)
    Site.objects.filter(name=site).update(plan=plan)
    return platform, customers["owner"], site


def _connect(platform) -> socket.socket:
    host, port = platform.portal.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _headers(platform, owner, site: str, framing: str) -> bytes:
    host = platform.portal.removeprefix("http://")
    return (f"POST /api/v1/sites/{site}/deployments/ HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {owner.token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"{framing}\r\n\r\n").encode()


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _nothing_stored(site: str) -> None:
    from django.conf import settings

    from sites.models import Deployment

    assert not Deployment.objects.filter(site__name=site).exists()
    archives = settings.ARCHIVES_DIR
    assert not archives.exists() or not [p for p in archives.iterdir() if p.stat().st_size > MB]


def test_a_declared_huge_upload_is_refused_before_its_body(tiny_site):
    platform, owner, site = tiny_site
    with _connect(platform) as sock:
        sock.sendall(_headers(platform, owner, site, f"Content-Length: {500 * MB}"))
        started = time.monotonic()
        answer = _answer(sock)  # not one byte of the body was sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5
    _nothing_stored(site)


def test_a_chunked_upload_is_cut_off_while_it_streams(tiny_site):
    platform, owner, site = tiny_site
    total, sent, answer = 256 * MB, 0, b""
    zeros = b"\0" * (64 * 1024)
    with _connect(platform) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.sendall(_headers(platform, owner, site, "Transfer-Encoding: chunked"))
        sock.sendall(b"%x\r\n%s\r\n" % (len(HEAD), HEAD))
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                answer = _answer(sock)
                break
            sock.sendall(b"%x\r\n%s\r\n" % (len(zeros), zeros))
            sent += len(zeros)
    assert answer.startswith(b"HTTP/1.1 413"), (sent, answer[:300])
    assert b"plan allows (1 MB)" in answer or b"413" in answer
    # Kernel buffers on both sides hold a few MB; the portal itself stopped at 1 MB.
    assert sent < 16 * MB, f"the answer came only after {sent // MB} MB"
    _nothing_stored(site)
