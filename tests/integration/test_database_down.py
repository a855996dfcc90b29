"""PostgreSQL down: sites keep serving (an edge restarted meanwhile starts from its last routes
file), the portal and the API answer 503 with a clear message instead of a traceback, and once the
database is back everything answers again without restarting a process.

A PostgreSQL, web process and edge of the test's own, so the shared platform is not disturbed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from accounts.services import TOKEN_PREFIX
from launcher.processes import free_tcp_port
from launcher.services import start_throwaway_postgres
from core import problems
from core.unavailable import DATABASE_DOWN
from tests.integration.support.processes import BASE_DIR, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class OwnPostgres:
    """The launcher's throwaway PostgreSQL, which this test stops and starts again."""

    def __init__(self, directory: Path) -> None:
        self.process, self.url = start_throwaway_postgres(directory, directory / "logs")
        self.command = list(self.process.popen.args)  # drops to the postgres user itself (setpriv)
        self.directory = directory
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        self.popen = self.process.popen

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGINT)  # fast shutdown: sessions end now
            self.popen.wait(30)

    def start(self) -> None:
        self.popen = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True, cwd=self.directory)
        wait_for(lambda: port_open(self.port), 60, "PostgreSQL to listen again")


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def own_postgres():
    # Outside pytest's private temporary directory, which the postgres user cannot enter.
    directory = Path(tempfile.mkdtemp(prefix="hosting-test-pg-"))
    directory.chmod(0o755)
    postgres = OwnPostgres(directory / "pg")
    yield postgres
    postgres.stop()
    postgres.process.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def upstreams(tmp_path):
    """Plain HTTP servers standing in for a site's containers, each answering its own text."""
    servers = []

    def serve(text: str) -> str:
        root = tmp_path / f"site-{len(servers)}"
        root.mkdir()
        (root / "index.html").write_text(text)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def edge_get(port: int, hostname: str) -> requests.Response | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/", headers={"Host": hostname}, timeout=5)
    except requests.ConnectionError:
        return None


def test_with_the_database_down_sites_serve_and_the_portal_answers_503(
        own_postgres, upstreams, service_env, start_process, tmp_path):
    edge_port, portal_port = free_tcp_port(), free_tcp_port()
    env = {**service_env, "DATABASE_URL": own_postgres.url, "DATA_DIR": str(tmp_path / "data"),
           "PROXY_HTTP_PORT": str(edge_port), "PROXY_HTTPS_PORT": str(free_tcp_port())}
    manage(env, "migrate", "--noinput")
    hostname, group = f"db-{uuid.uuid4().hex[:6]}.apps.localhost", uuid.uuid4().hex

    def route_to(upstream: str) -> None:
        manage(env, "shell", "-c", f"from proxy.services import set_routes; "
                                   f"set_routes('{group}', ['{hostname}'], ['{upstream}'], 'live')")

    route_to(upstreams("v1\n"))
    edge = start_process("edge", ["manage.py", "edge"], **env)
    web = start_process("web", ["-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{portal_port}",
                                "--worker-class", "gevent", "--workers", "1"], **env)
    portal = f"http://127.0.0.1:{portal_port}"
    wait_for(lambda: (edge_get(edge_port, hostname) or requests.Response()).status_code == 200, 60, "the edge")
    wait_for(lambda: port_open(portal_port), 60, "the portal")
    route_to(upstreams("still serving\n"))  # a switch: the running edge takes it, its routes file stays
    wait_for(lambda: edge_get(edge_port, hostname).text == "still serving\n", 30, "the switch")
    bearer = {"Authorization": f"Bearer {TOKEN_PREFIX}{uuid.uuid4().hex}"}  # looked up in the database
    session = {"sessionid": "a" * 32}  # a session is looked up in the database
    assert requests.get(f"{portal}/admin/", cookies=session, allow_redirects=False, timeout=10).status_code == 302

    own_postgres.stop()

    page = requests.get(f"{portal}/admin/", cookies=session, timeout=10)
    assert page.status_code == 503 and DATABASE_DOWN in page.text and "Traceback" not in page.text
    api = requests.get(f"{portal}/api/v1/sites/", headers=bearer, timeout=10)
    assert (api.status_code, api.json()) == (503, problems.body(503, DATABASE_DOWN))  # core/problems.py
    health = requests.get(f"{portal}/healthz", timeout=10)
    assert (health.status_code, health.json()) == (503, {"status": "unhealthy"})
    # The edge starts again from its last routes file, and the site is served all along.
    assert edge_get(edge_port, hostname).text == "still serving\n"
    edge.stop()
    edge = start_process("edge-again", ["manage.py", "edge"], **env)
    wait_for(lambda: (edge_get(edge_port, hostname) or requests.Response()).status_code == 200, 60,
             f"the edge to start without its database: {edge.output()[-2000:]}")
    assert edge_get(edge_port, hostname).text == "still serving\n"

    own_postgres.start()

    # The same web process answers again: its connection is checked and opened anew.
    wait_for(lambda: requests.get(f"{portal}/admin/", cookies=session, allow_redirects=False, timeout=10).status_code
             == 302, 30, "the portal")
    assert requests.get(f"{portal}/api/v1/sites/", headers=bearer, timeout=10).status_code == 401
    assert web.popen.poll() is None
