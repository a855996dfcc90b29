"""A read-only window on the Docker API for the unprivileged web server: site containers' logs.

The web server runs as the platform user and must not reach the Docker socket (whoever can is root
on the host). It still shows a site's logs, so the agent, which is root anyway, serves this relay.
It passes one request per connection to Docker, and only these: `GET /_ping`, `GET /version`, and
`GET /containers/<ref>/json` and `/logs` (at most MAX_TAIL lines back) of a site's container.

It listens in two places:
- a unix socket in a directory that only root and the platform's group may enter, for any site
  container of this daemon (the web server's DOCKER_HOST, which the launcher sets);
- TCP on the host's service address, port LOG_RELAY_PORT, where the web server reads the logs of
  an instance on whichever host runs it (hosting/log_access.py says why a relay and how the token
  is signed). There every request must carry a fresh token for exactly that container on exactly
  this host, and the container must be a site instance this installation's fleet started on this
  host (its labels): never another container, whatever the token says. Connections are capped
  and time-limited.
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
import time
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import docker
import docker.errors
from django.conf import settings

from core.data_dir import relay_dir, relay_socket
from hosting.instances import fleet_id
from hosting.log_access import TOKEN_HEADER, granted_container
from hosting.spec import LABEL_FLEET, LABEL_HOST, LABEL_SITE

log = logging.getLogger(__name__)

ALLOWED = re.compile(r"^(?:/v1\.\d{1,3})?/(?:(?P<plain>_ping|version)|containers/(?P<ref>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})/(?P<what>json|logs))$")
SAFE_TARGET = re.compile(r"^/[A-Za-z0-9/._~?&=%:-]{0,1000}$")
LOG_PARAMETERS = {"stdout", "stderr", "timestamps", "follow", "tail", "since", "until"}
MAX_HEAD = 8192
MAX_TAIL = 5000  # the most lines any of the platform's pages or the API asks for
MAX_CONNECTIONS = 200  # open at once on the TCP listener; more wait for none and are closed
HEAD_TIMEOUT = 10
SEND_TIMEOUT = 60

# Decides whether a container reference may be read (the unix listener: any site container).
RefCheck = Callable[[str], bool]
MISSING = object()  # what a lookup says of a container Docker does not have
# A container reference -> its (name, labels), MISSING, or None when Docker cannot say.
Lookup = Callable[[str], "tuple[str, dict[str, str]] | object | None"]


def _tail_bounded(query: list[tuple[str, str]]) -> bool:
    tails = [value for key, value in query if key == "tail"]
    return len(tails) == 1 and tails[0].isdigit() and int(tails[0]) <= MAX_TAIL


def allowed_target(target: str, is_site_container: RefCheck) -> bool:
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
    if match["what"] == "logs" and not _tail_bounded(query):
        return False  # "all" of a chatty container's log is gigabytes
    return all(key in allowed for key, _ in query) and is_site_container(match["ref"])


def header(head: bytes, name: str) -> str:
    """The value of the request header `name` in `head` ("" when absent or given twice)."""
    wanted = name.lower().encode("latin-1") + b":"
    values = [line[len(wanted):].strip() for line in head.split(b"\r\n")[1:] if line.lower().startswith(wanted)]
    return values[0].decode("latin-1") if len(values) == 1 else ""


class _Handler(socketserver.BaseRequestHandler):
    server: "LogRelay | TcpLogRelay"

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(HEAD_TIMEOUT)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk or len(head) + len(chunk) > MAX_HEAD:
                    return
                head += chunk
        except OSError:
            return  # too slow, or gone
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = request_line.partition(" ")
        target = rest.rsplit(" ", 1)[0]
        if method != "GET" or not allowed_target(target, self.server.ref_check(head)):
            log.warning("log relay refused %r", request_line[:200])
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        # Our own request line and headers, not the client's: one request, then the connection ends.
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.server.docker_socket)
            upstream.sendall(f"GET {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode("latin-1"))
            self._pipe(upstream, client, time.monotonic() + settings.STREAM_MAX_SECONDS + 60)
        except OSError:
            pass
        finally:
            upstream.close()

    @staticmethod
    def _pipe(upstream: socket.socket, client: socket.socket, deadline: float) -> None:
        """Docker's answer to the client until either side closes (a follow ends when its reader
        goes) or the deadline passes (no follow outlives the web server's own limit)."""
        client.settimeout(SEND_TIMEOUT)  # a client that stops reading does not hold the thread forever
        while time.monotonic() < deadline:
            readable, _, _ = select.select([upstream, client], [], [], 60)
            if client in readable:
                return  # the client sent more or hung up: a request per connection, so we are done
            if upstream in readable:
                data = upstream.recv(65536)
                if not data:
                    return
                client.sendall(data)


class LogRelay(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The unix listener: the platform's group reaches it, for any site container of this daemon."""

    daemon_threads = True

    def __init__(self, path: Path, docker_socket: str, is_site_container: RefCheck) -> None:
        self.docker_socket = docker_socket
        self.is_site_container = is_site_container
        path.unlink(missing_ok=True)
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)

    def ref_check(self, head: bytes) -> RefCheck:
        return self.is_site_container


def is_instance_of(labels: dict[str, str], host_name: str, fleet: str) -> bool:
    """A site instance that fleet `fleet` started on `host_name` (the labels hosting/instances.py sets)."""
    return LABEL_SITE in labels and labels.get(LABEL_FLEET) == fleet and labels.get(LABEL_HOST) == host_name


def token_ref_check(head: bytes, host_name: str, fleet: str, lookup: Lookup) -> RefCheck:
    """What the TCP listener may read for a request with `head`: the one container its token grants
    on this host, and only while that is one of this host's site instances."""
    container = granted_container(header(head, TOKEN_HEADER), host_name)

    def granted(ref: str) -> bool:
        if container is None:
            return False  # no fresh token for this host: Docker is not even asked
        found = lookup(ref)
        if found is MISSING:
            return ref == container  # Docker answers 404 itself: the instance is gone
        return isinstance(found, tuple) and found[0] == container and is_instance_of(found[1], host_name, fleet)
    return granted


class TcpLogRelay(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """The TCP listener on the service address: only the instance a request's token names."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], docker_socket: str, host_name: str, lookup: Lookup) -> None:
        self.docker_socket = docker_socket
        self.host_name = host_name
        self.lookup = lookup
        self.fleet = fleet_id()
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def ref_check(self, head: bytes) -> RefCheck:
        return token_ref_check(head, self.host_name, self.fleet, self.lookup)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many open: this one is closed at once
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


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


def inspector(client: docker.APIClient) -> Lookup:
    """`ref` -> (name, labels) of the container, MISSING when Docker has none, None when it cannot say."""

    def lookup(ref: str) -> tuple[str, dict[str, str]] | object | None:
        try:
            found = client.inspect_container(ref)
        except docker.errors.NotFound:
            return MISSING
        except docker.errors.DockerException:
            return None
        return found.get("Name", "").lstrip("/"), found.get("Config", {}).get("Labels") or {}
    return lookup


def start_log_relay(data_dir: Path, group: str) -> LogRelay | None:
    """Serve the unix listener in a thread of this (root) process; None where it cannot be offered,
    or another agent on this data directory already serves it."""
    upstream = docker_unix_socket()
    if os.geteuid() != 0 or upstream is None or _answers(relay_socket(data_dir)):
        return None
    if not gate_directory(relay_dir(data_dir), group):
        return None
    lookup = inspector(docker.APIClient(base_url=f"unix://{upstream}", timeout=10))

    def is_site_container(ref: str) -> bool:
        found = lookup(ref)
        return isinstance(found, tuple) and LABEL_SITE in found[1]

    relay = LogRelay(relay_socket(data_dir), upstream, is_site_container)
    os.chown(relay_socket(data_dir), 0, grp.getgrnam(group).gr_gid)
    threading.Thread(target=relay.serve_forever, name="log-relay", daemon=True).start()
    return relay


def start_tcp_log_relay(host_name: str, address: str, port: int) -> TcpLogRelay | None:
    """Serve the TCP listener on `address`:`port` in a thread; None where it cannot (no local
    Docker socket, or the address is taken, as by another agent sharing this machine's address)."""
    upstream = docker_unix_socket()
    if upstream is None:
        return None
    try:
        relay = TcpLogRelay((address, port), upstream, host_name,
                            inspector(docker.APIClient(base_url=f"unix://{upstream}", timeout=10)))
    except OSError as exc:
        log.warning("site logs are not served on %s:%s: %s", address, port, exc, extra={"host": host_name})
        return None
    threading.Thread(target=relay.serve_forever, name="log-relay-tcp", daemon=True).start()
    return relay
