"""The edge nginx: its own prefix directory and a config rendered from the routing table.

Applying is always: render, write a temporary file, `nginx -t` it, move it into place atomically,
reload. A config that fails the check is never moved into place: the running one keeps serving.
"""
from __future__ import annotations

import fcntl
import http.client
import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from proxy.models import Route
from proxy.validation import validate_group, validate_hostname, validate_upstream


class EdgeConfigInvalid(Exception):
    """`nginx -t` refused a rendered config; the message carries nginx's own words."""


def routing_context() -> dict:
    """The routing table as the template needs it; every value is validated again on the way out."""
    live, resting, groups = [], [], {}
    for route in Route.objects.order_by("hostname"):
        validate_hostname(route.hostname)
        validate_group(route.group)
        if route.status == Route.Status.LIVE and route.upstreams:
            groups.setdefault(route.group, sorted({validate_upstream(u) for u in route.upstreams}))
            live.append(route)
        else:
            resting.append(route)
    return {"live": live, "resting": resting, "groups": sorted(groups.items())}


@dataclass(frozen=True)
class EdgeNginx:
    """One nginx instance owned by the platform, living entirely under `prefix`."""

    prefix: Path
    binary: str = "nginx"

    @classmethod
    def from_settings(cls) -> "EdgeNginx":
        return cls(prefix=Path(settings.EDGE_DIR), binary=settings.NGINX_BINARY)

    @property
    def config_path(self) -> Path:
        return self.prefix / "nginx.conf"

    def render(self, generation: str = "") -> str:
        return render_to_string(
            "proxy/nginx.conf",
            {
                "prefix": self.prefix,
                "generation": generation or uuid.uuid4().hex,
                "listen_address": settings.PROXY_LISTEN_ADDRESS,
                "http_port": settings.PROXY_HTTP_PORT,
                "client_max_body_size": settings.PROXY_CLIENT_MAX_BODY_SIZE,
                "connect_timeout": settings.PROXY_CONNECT_TIMEOUT,
                "read_timeout": settings.PROXY_READ_TIMEOUT,
                **routing_context(),
            },
        )

    def _command(self, config: Path, *extra: str) -> list[str]:
        # `-e stderr` keeps nginx away from the distro's /var/log/nginx before it reads our config.
        return [self.binary, "-p", str(self.prefix), "-c", str(config), "-e", "stderr", *extra]

    def check(self, config: Path) -> None:
        result = subprocess.run(self._command(config, "-t", "-q"), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise EdgeConfigInvalid((result.stderr or result.stdout).strip())

    def write_config(self, text: str | None = None, generation: str = "") -> Path:
        """Check `text` (default: rendered now) in a temporary file, then move it into place."""
        for sub in ("run", "tmp", "logs"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        candidate = self.prefix / "nginx.conf.new"
        candidate.write_text(self.render(generation) if text is None else text)
        try:
            self.check(candidate)
        except EdgeConfigInvalid:
            candidate.unlink(missing_ok=True)
            raise
        os.replace(candidate, self.config_path)
        return self.config_path

    def running(self) -> bool:
        try:
            pid = int((self.prefix / "run" / "nginx.pid").read_text().strip())
            os.kill(pid, 0)
            return True
        except (OSError, ValueError):
            return False

    def serving_generation(self) -> str | None:
        """The config generation the running workers answer with on the control socket."""
        connection = _UnixHTTPConnection(str(self.prefix / "run" / "control.sock"))
        try:
            connection.request("GET", "/generation")
            return connection.getresponse().read().decode()
        except OSError:
            return None
        finally:
            connection.close()

    def apply(self, timeout: float = 10) -> None:
        """Render from the database, check, move into place and reload a running edge.

        Returns once the edge's workers serve the new config, so a caller can rely on it.
        """
        self.prefix.mkdir(parents=True, exist_ok=True)
        with open(self.prefix / ".apply.lock", "w") as lock:
            # One apply at a time; the last one renders the latest table.
            fcntl.flock(lock, fcntl.LOCK_EX)
            generation = uuid.uuid4().hex
            self.write_config(generation=generation)
            if not self.running():
                return  # the edge reads it when it starts
            result = subprocess.run(self._command(self.config_path, "-s", "reload"), capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                raise EdgeConfigInvalid(f"nginx did not reload: {result.stderr.strip()}")
            deadline = time.monotonic() + timeout
            while self.serving_generation() != generation:
                if time.monotonic() > deadline:
                    raise EdgeConfigInvalid(f"nginx did not pick up the new config within {timeout:.0f} s.")
                time.sleep(0.01)
            # New workers are up; the old ones close their listeners as they get the master's QUIT.
            time.sleep(0.05)

    def exec_foreground(self) -> None:
        """Replace this process by nginx in the foreground (the Procfile's `edge`)."""
        command = self._command(self.config_path, "-g", "daemon off;")
        os.execvp(command[0], command)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("edge", timeout=2)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(2)
        self.sock.connect(self._path)
