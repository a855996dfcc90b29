"""Readiness: a started container is ready when it is healthy, not merely when it answers.

Healthy means: it answers HTTP on $PORT with a status below 500 on `/` (any page the app serves,
a 404 included, but never an error page), or with a 2xx/3xx status on the site's declared health
check path (as Dokku's CHECKS). A process that already listens on another port than $PORT, or on
its loopback address only, is told so at once instead of after the whole start timeout.

What the tenant's process prints and which sockets it opens are the tenant's to shape: both are
parsed strictly, and only numbers taken from them reach an error message.
"""
from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass
from typing import Protocol

from core.errors import CustomerError, HostingError
from hosting.spec import ContainerState

POLL_SECONDS = 0.1
# A process seen listening elsewhere (twice, this far apart) is not going to listen on $PORT.
WRONG_PORT_AFTER_SECONDS = 1.0
SOCKET_CHECK_EVERY_SECONDS = 0.5
# Not before this: an app binds within a second, and a probe costs the CPU its start needs.
FIRST_SOCKET_CHECK_SECONDS = 1.0
# An app that answers with errors for this long is broken, not warming up.
UNHEALTHY_FOR_SECONDS = 15.0
# /proc/net/tcp and tcp6 lines of listening sockets: "  0: 0100007F:1F90 00000000:0000 0A ..."
LISTENING_SOCKET = re.compile(r"^\s*\d+:\s+([0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})\s+[0-9A-F]{8,32}:[0-9A-F]{4}\s+0A\s")
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
# Docker's embedded DNS resolver listens in every container on a user-defined network, at 127.0.0.11.
DOCKER_DNS = "0B00007F"
# "Listening on port 3000", "port=8080", "http://0.0.0.0:8000", "127.0.0.1:3000", "[::]:8080", "*:80", "on :8080"
PORT_IN_LOG = re.compile(
    r"(?:\bport\b\s*[:=]?\s*|(?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\]|\[::1\]|\*|(?<!\S)):)(\d{1,5})\b",
    re.IGNORECASE,
)


class AppExited(CustomerError):
    """The site's process ended while we waited for it to answer."""


class AppNeverAnswered(CustomerError):
    """The site's process kept running but never answered HTTP on its port."""


class AppUnhealthy(CustomerError):
    """The site answers, but with errors (5xx), or not with success on its health check path."""


class AppOnWrongPort(CustomerError):
    """The site's process listens, but not where the platform reaches it ($PORT on every address)."""


class Observable(Protocol):
    """What readiness needs of the engine (ContainerEngine)."""

    def state(self, name: str) -> ContainerState: ...
    def logs(self, name: str, tail: int = 100) -> str: ...
    def probe_output(self, name: str, command: list[str]) -> str: ...


@dataclass(frozen=True)
class HealthCheck:
    path: str = "/"
    host: str | None = None  # the Host header to send (the site's own name, as the edge sends it)
    declared: bool = False  # the site declared this path: only 2xx and 3xx count

    def accepts(self, status: int) -> bool:
        return 200 <= status < 400 if self.declared else status < 500


def http_status(address: str, port: int, check: HealthCheck) -> int | None:
    """The status the app answers `check.path` with, or None when nothing answers HTTP."""
    connection = http.client.HTTPConnection(address, port, timeout=2)
    headers = {"User-Agent": "hosting-readiness"}
    if check.host:
        headers["Host"] = check.host
    try:
        connection.request("GET", check.path, headers=headers)
        response = connection.getresponse()
        response.read(0)
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def listening_sockets(proc_net_tcp: str) -> set[tuple[int, bool]]:
    """(port, loopback only) of each listening TCP socket in /proc/net/tcp{,6} text."""
    found = set()
    for line in proc_net_tcp.splitlines():
        match = LISTENING_SOCKET.match(line)
        if match and match.group(1) != DOCKER_DNS:
            found.add((int(match.group(2), 16), match.group(1) in LOOPBACK))
    return found


def ports_in_log(text: str, port: int) -> list[int]:
    """Ports other than `port` that the app's output mentions, in the order it mentions them."""
    mentioned = []
    for match in PORT_IN_LOG.finditer(text):
        value = int(match.group(1))
        if 0 < value < 65536 and value != port and value not in mentioned:
            mentioned.append(value)
    return mentioned


def last_lines(text: str, count: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-count:]) or "(the app printed nothing)"


def wait_until_healthy(engine: Observable, name: str, address: str, port: int, container_port: int,
                       check: HealthCheck, timeout: float) -> None:
    """Wait until the container `name`, published on address:port, is healthy; raise a
    CustomerError saying why it is not (with its last log lines) when it cannot be."""
    Watch(engine, name, container_port, check).until_healthy(address, port, timeout)


class Watch:
    """One wait for one container: what it answered and which sockets it was seen with."""

    def __init__(self, engine: Observable, name: str, container_port: int, check: HealthCheck) -> None:
        self.engine, self.name, self.container_port, self.check = engine, name, container_port, check
        self.last_status: int | None = None
        self.unhealthy_since: float | None = None
        self.elsewhere_since: float | None = None
        self.next_socket_check = 0.0

    def until_healthy(self, address: str, port: int, timeout: float) -> None:
        started = time.monotonic()
        deadline = started + timeout
        self.next_socket_check = started + FIRST_SOCKET_CHECK_SECONDS
        while time.monotonic() < deadline:
            status = http_status(address, port, self.check)
            now = time.monotonic()
            if status is not None and self.check.accepts(status):
                return
            if status is not None:
                self.answered_unhealthy(status, now)
            else:
                self.still_not_answering(now)
            time.sleep(POLL_SECONDS)
        if self.last_status is not None:
            raise self.unhealthy(f"within {timeout:.0f} s")
        raise AppNeverAnswered(
            f"The app did not answer HTTP on $PORT ({self.container_port}) within {timeout:.0f} s."
            + self.log_hint() + " Last lines:\n" + self.last_lines()
        )

    def answered_unhealthy(self, status: int, now: float) -> None:
        self.last_status = status
        self.unhealthy_since = self.unhealthy_since or now
        if now - self.unhealthy_since >= UNHEALTHY_FOR_SECONDS:
            raise self.unhealthy(f"for {UNHEALTHY_FOR_SECONDS:.0f} s")

    def unhealthy(self, how_long: str) -> AppUnhealthy:
        wanted = "a 2xx or 3xx status" if self.check.declared else "a status below 500"
        return AppUnhealthy(
            f"The app answered HTTP {self.last_status} on {self.check.path} {how_long}; it goes live when it answers "
            f"{wanted} there (the health check path is a setting of the site and of hosting.toml). Last lines:\n"
            + self.last_lines()
        )

    def still_not_answering(self, now: float) -> None:
        state = self.engine.state(self.name)
        if not state.running:
            raise AppExited(
                f"The app exited with code {state.exit_code} before answering on $PORT ({self.container_port})."
                " Last lines:\n" + self.last_lines()
            )
        if now >= self.next_socket_check:
            self.next_socket_check = now + SOCKET_CHECK_EVERY_SECONDS
            self.check_sockets(now)

    def check_sockets(self, now: float) -> None:
        """Fail now when the process listens, but not on $PORT of every address, for a while."""
        try:
            sockets = listening_sockets(self.engine.probe_output(self.name, ["/proc/net/tcp", "/proc/net/tcp6"]))
        except HostingError:
            return  # ended meanwhile: the next round finds out why
        reachable = (self.container_port, False) in sockets
        if not sockets or reachable:
            self.elsewhere_since = None
            return
        self.elsewhere_since = self.elsewhere_since or now
        if now - self.elsewhere_since < WRONG_PORT_AFTER_SECONDS:
            return
        if (self.container_port, True) in sockets:
            raise AppOnWrongPort(
                f"The app listens on port {self.container_port} of its loopback address only (127.0.0.1), where the "
                "platform cannot reach it: listen on 0.0.0.0:$PORT. Last lines:\n" + self.last_lines()
            )
        ports = ", ".join(str(p) for p in sorted({p for p, _ in sockets}))
        raise AppOnWrongPort(
            f"The app listens on port {ports}, but $PORT is {self.container_port}: make it listen on $PORT."
            + self.log_hint() + " Last lines:\n" + self.last_lines()
        )

    def log_hint(self) -> str:
        mentioned = ports_in_log(self.engine.logs(self.name, tail=50), self.container_port)
        if not mentioned:
            return ""
        return f" Its log mentions port {', '.join(str(p) for p in mentioned[:3])}; $PORT is {self.container_port}."

    def last_lines(self) -> str:
        return last_lines(self.engine.logs(self.name, tail=20))
