"""A read-only window on the Docker API for the unprivileged web server: site containers' logs.

The web server runs as the platform user and must not reach the Docker socket (whoever can is root
on the host). It still shows a site's logs, so the agent, which is root anyway, serves this relay
on a unix socket in a directory that only root and the platform's group may enter. It passes one
request per connection to Docker, and only these: `GET /_ping`, `GET /version`, and
`GET /containers/<ref>/json` and `/logs` of a container that carries a site's label. The web
server's Docker client finds it through DOCKER_HOST, which the launcher sets for the platform user.
"""
from __future__ import annotations

import grp
import logging
import os
import re
import select
import socket
import socketserver
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import docker
import docker.errors

from hosting.spec import LABEL_SITE

log = logging.getLogger(__name__)

SOCKET_NAME = "docker.sock"
ALLOWED = re.compile(r"^(?:/v1\.\d{1,3})?/(?:(?P<plain>_ping|version)|containers/(?P<ref>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})/(?P<what>json|logs))$")
SAFE_TARGET = re.compile(r"^/[A-Za-z0-9/._~?&=%:-]{0,1000}$")
LOG_PARAMETERS = {"stdout", "stderr", "timestamps", "follow", "tail", "since", "until"}
MAX_HEAD = 8192


def relay_dir(data_dir: Path) -> Path:
    return data_dir / "docker-logs"


def relay_socket(data_dir: Path) -> Path:
    return relay_dir(data_dir) / SOCKET_NAME


def allowed_target(target: str, is_site_container) -> bool:
    """Whether a request target is one the relay passes on; `is_site_container(ref)` decides refs."""
    if not SAFE_TARGET.match(target):
        return False  # origin form only, and nothing that could end the request line
    parts = urlsplit(target)
    match = ALLOWED.match(parts.path)
    if match is None:
        return False
    query = parse_qsl(parts.query, keep_blank_values=True)
    if match["plain"]:
        return not query
    allowed = LOG_PARAMETERS if match["what"] == "logs" else {"size"}
    return all(key in allowed for key, _ in query) and is_site_container(match["ref"])


class _Handler(socketserver.BaseRequestHandler):
    server: "LogRelay"

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk or len(head) + len(chunk) > MAX_HEAD:
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = request_line.partition(" ")
        target = rest.rsplit(" ", 1)[0]
        if method != "GET" or not allowed_target(target, self.server.is_site_container):
            log.warning("log relay refused %r", request_line[:200])
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        # Our own request line and headers, not the client's: one request, then the connection ends.
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.server.docker_socket)
            upstream.sendall(f"GET {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode("latin-1"))
            self._pipe(upstream, client)
        except OSError:
            pass
        finally:
            upstream.close()

    @staticmethod
    def _pipe(upstream: socket.socket, client: socket.socket) -> None:
        """Docker's answer to the client until either side closes (a follow ends when its reader goes)."""
        client.settimeout(None)
        while True:
            readable, _, _ = select.select([upstream, client], [], [], 60)
            if client in readable:
                return  # the client sent more or hung up: a request per connection, so we are done
            if upstream in readable:
                data = upstream.recv(65536)
                if not data:
                    return
                client.sendall(data)


class LogRelay(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, docker_socket: str, is_site_container) -> None:
        self.docker_socket = docker_socket
        self.is_site_container = is_site_container
        path.unlink(missing_ok=True)
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)


def gate_directory(directory: Path, group: str) -> bool:
    """`directory` as root:<group> 0750; False (and nothing made) where the group does not exist."""
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return False
    directory.mkdir(parents=True, exist_ok=True)
    os.chown(directory, 0, gid, follow_symlinks=False)
    os.chmod(directory, 0o750)
    return True


def docker_unix_socket() -> str | None:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
            return True
        except OSError:
            return False


def start_log_relay(data_dir: Path, group: str) -> LogRelay | None:
    """Serve the relay in a thread of this (root) process; None where it cannot be offered, or
    another agent on this data directory already serves it."""
    upstream = docker_unix_socket()
    if os.geteuid() != 0 or upstream is None or _answers(relay_socket(data_dir)):
        return None
    if not gate_directory(relay_dir(data_dir), group):
        return None
    client = docker.APIClient(base_url=f"unix://{upstream}", timeout=10)

    def is_site_container(ref: str) -> bool:
        try:
            labels = client.inspect_container(ref).get("Config", {}).get("Labels") or {}
        except docker.errors.DockerException:
            return False
        return LABEL_SITE in labels

    relay = LogRelay(relay_socket(data_dir), upstream, is_site_container)
    os.chown(relay_socket(data_dir), 0, grp.getgrnam(group).gr_gid)
    threading.Thread(target=relay.serve_forever, name="log-relay", daemon=True).start()
    return relay
