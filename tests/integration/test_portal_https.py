"""PLATFORM_HTTPS=1: the portal, the API and git answer over HTTPS through the edge, on the
platform's own domain, with HSTS and secure cookies; plain HTTP is sent to HTTPS, and a request
that reaches gunicorn directly cannot pass itself off as HTTPS."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import ssl
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from launcher.processes import free_tcp_port, tcp_port_open
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PORTAL = "portal.apps.localhost"


def _https(port: int, method: str, path: str, headers: dict | None = None,
           body: bytes | None = None) -> http.client.HTTPResponse:
    """A request to the edge as a browser sends it: TLS with the portal's name (SNI), then HTTP."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the edge's fallback certificate is self-signed
    connection = http.client.HTTPSConnection(PORTAL, port, context=context, timeout=30)
    connection._create_connection = lambda address, *args, **kwargs: socket.create_connection(
        ("127.0.0.1", port), *args, **kwargs)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture
def https_platform(start_process, customers):
    """gunicorn (as the Procfile starts it) and the edge, both with PLATFORM_HTTPS=1."""
    portal, http_port, https_port = free_tcp_port(), free_tcp_port(), free_tcp_port()
    # Beside the test run's own data: the edge's workers (not root) must reach its certificates,
    # which pytest's private tmp_path would not let them.
    data = Path(settings.DATA_DIR).parent / f"https-{uuid.uuid4().hex[:8]}"
    env = {"PLATFORM_HTTPS": "1", "DATA_DIR": str(data), "SECRET_KEY": secrets.token_urlsafe(50),
           "PORTAL_BIND": f"127.0.0.1:{portal}", "PROXY_HTTP_PORT": str(http_port), "PROXY_HTTPS_PORT": str(https_port)}
    web = start_process("web", ["-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{portal}", "--worker-class", "gevent",
                          "--workers", "1"], **env)
    edge = start_process("edge", ["manage.py", "edge"], **env)
    wait_for(lambda: tcp_port_open("127.0.0.1", portal), 60, "gunicorn to listen")
    wait_for(lambda: tcp_port_open("127.0.0.1", https_port), 60, "the edge to listen")
    yield portal, http_port, https_port, env
    for process in (edge, web):
        process.stop()
    shutil.rmtree(data, ignore_errors=True)


def test_it_serves_the_portal_api_and_git_over_https_through_the_edge(https_platform, customers):
    portal, http_port, https_port, env = https_platform
    owner = customers["owner"]
    bearer = {"Authorization": f"Bearer {owner.token}"}

    created = _https(https_port, "POST", "/api/v1/sites/", {**bearer, "Content-Type": "application/json"})
    assert created.status == 400  # an empty body: the API itself answered, over HTTPS
    response = _https(https_port, "GET", "/api/v1/sites/", bearer)
    assert response.status == 200, response.body
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=31536000")

    login = _https(https_port, "GET", "/login/")
    assert login.status == 200
    cookie = login.getheader("Set-Cookie", "")
    assert "csrftoken=" in cookie and "Secure" in cookie

    # A site created over HTTPS names an HTTPS git remote on the portal's name, and git uses it.
    site = _https(https_port, "POST", "/api/v1/sites/", {**bearer, "Content-Type": "application/json"},
                  b'{"name": "tls-site"}')
    assert site.status == 201, site.body
    assert json.loads(site.body)["git_url"] == f"https://{PORTAL}:{https_port}/git/tls-site.git"
    remote = f"https://user:{owner.token}@{PORTAL}:{https_port}/git/tls-site.git"
    git = subprocess.run(
        ["git", "-c", f"http.curloptResolve={PORTAL}:{https_port}:127.0.0.1", "-c", "http.sslVerify=false",
         "ls-remote", remote], capture_output=True, text=True, timeout=60,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"},
    )
    assert git.returncode == 0, git.stderr

    # Plain HTTP on the portal's name is sent to HTTPS.
    plain = requests.get(f"http://127.0.0.1:{http_port}/api/v1/sites/", headers={"Host": PORTAL},
                         allow_redirects=False, timeout=10)
    assert plain.status_code == 308
    assert plain.headers["Location"] == f"https://{PORTAL}:{https_port}/api/v1/sites/"


def test_it_does_not_believe_a_forged_https_header_from_outside_the_edge(https_platform, customers):
    portal, _, _, _ = https_platform
    forged = requests.get(f"http://127.0.0.1:{portal}/api/v1/sites/", allow_redirects=False, timeout=10,
                          headers={**customers["owner"].headers(), "Host": PORTAL, "X-Forwarded-Proto": "https",
                                   "X-Hosting-Edge": "guessed"})
    assert forged.status_code == 301  # treated as plain HTTP, so sent to HTTPS
    assert forged.headers["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in forged.headers
    # The platform's own health check still reaches the bind over plain HTTP.
    assert requests.get(f"http://127.0.0.1:{portal}/healthz", timeout=10).status_code in (200, 503)
