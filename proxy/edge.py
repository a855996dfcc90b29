"""The edge nginx: its own prefix directory, a config rendered in one place, and a routing table
changed in place.

Two ways a change reaches the running edge:
- routes (which hostname goes to which instance, or which status page): written to the routes
  file and sent to the workers' shared table through the control socket. No reload, so a deploy's
  switch costs the same at ten or ten thousand sites.
- everything else (certificates, settings): apply() renders the config, writes it to a temporary
  file, checks it with `nginx -t`, moves it into place atomically and reloads. A config that fails
  the check is never moved into place: the running one keeps serving.
"""
from __future__ import annotations

import fcntl
import http.client
import logging
import os
import signal
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string

from core.commands import run
from proxy.certificate_files import CertificateFiles, installed_certificates, write_self_signed
from proxy.edge_files import atomic_write, gate_to_platform, write_private
from proxy.models import Route, VerificationToken
from proxy.route_journal import RouteJournal
from proxy.validation import InvalidRouteValue, validate_group, validate_hostname, validate_upstream

log = logging.getLogger(__name__)

LUA_DIR = Path(__file__).resolve().parent / "lua"
PAGES = ("404", "stopped", "suspended", "starting")
LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1"}


class EdgeConfigInvalid(Exception):
    """`nginx -t` refused a rendered config; the message carries nginx's own words."""


class EdgeUnreachable(Exception):
    """The running edge did not take a route change through its control socket."""


def route_line(route: Route) -> str:
    """A route as the Lua table stores it; every value is validated again on the way out."""
    validate_hostname(route.hostname)
    validate_group(route.group)
    for upstream in route.upstreams:
        validate_upstream(upstream)
    if route.status not in Route.Status.values:
        raise ValueError(f"bad route status {route.status!r}")
    return route.line()


def verification_line(token: VerificationToken) -> str:
    validate_hostname(token.hostname)
    if not token.token.isalnum():
        raise ValueError("bad verification token")
    return token.line()


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

    @property
    def routes_file(self) -> Path:
        return self.prefix / "routes.txt"

    @property
    def pages_dir(self) -> Path:
        return self.prefix / "pages"

    @property
    def control_dir(self) -> Path:
        """The directory of the control socket: only root and the platform's group may enter it.

        nginx creates unix sockets 0666 and cannot be told otherwise, and whoever can connect can
        re-route any hostname; the directory is the gate (connect needs search permission on it).
        """
        return self.prefix / "control"

    @property
    def control_socket(self) -> Path:
        return self.control_dir / "control.sock"

    # --- rendering -------------------------------------------------------------------------------

    def render(self, generation: str = "") -> str:
        return render_to_string(
            "proxy/nginx.conf",
            {
                "prefix": self.prefix,
                "control_socket": self.control_socket,
                "modules_dir": settings.NGINX_MODULES_DIR,
                "worker_processes": settings.PROXY_WORKER_PROCESSES,
                "worker_user": settings.PROXY_WORKER_USER if os.geteuid() == 0 else "",
                "generation": generation or uuid.uuid4().hex,
                "listen_address": settings.PROXY_LISTEN_ADDRESS,
                "http_port": settings.PROXY_HTTP_PORT,
                "https_port": settings.PROXY_HTTPS_PORT,
                "https_suffix": "" if settings.PROXY_HTTPS_PORT == 443 else f":{settings.PROXY_HTTPS_PORT}",
                "client_max_body_size": settings.PROXY_CLIENT_MAX_BODY_SIZE,
                "connect_timeout": settings.PROXY_CONNECT_TIMEOUT,
                "read_timeout": settings.PROXY_READ_TIMEOUT,
                "upstream_keepalive": settings.PROXY_UPSTREAM_KEEPALIVE,
                "lua_dir": LUA_DIR,
                "routes_file": self.routes_file,
                "routes_dict_mb": settings.PROXY_ROUTES_MEMORY_MB,
                "pages_dir": self.pages_dir,
                "webroot": settings.ACME_WEBROOT,
                "fallback": self.fallback_certificate(),
                "certificates": installed_certificates(),
                "portal": portal_server() if settings.PLATFORM_HTTPS else None,
            },
        )

    def routes_text(self) -> str:
        lines = [route_line(r) for r in Route.objects.order_by("hostname")]
        lines += [verification_line(t) for t in VerificationToken.objects.order_by("hostname")]
        return "\n".join(lines) + "\n"

    def fallback_certificate(self) -> CertificateFiles:
        """A self-signed certificate for names the edge has none for (made once)."""
        directory = self.prefix / "fallback-tls"
        files = CertificateFiles("default", directory / "cert.pem", directory / "key.pem")
        if not files.certificate.exists():
            write_self_signed(directory, files)
        return files

    # --- files -----------------------------------------------------------------------------------

    def _prepare_dirs(self) -> None:
        # Others (nginx's workers, www-data) may pass through the prefix to their temp files and
        # the fallback certificate, but list nothing; the config and routes files are 0600.
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.prefix.chmod(0o711)
        for sub in ("run", "tmp", "logs", "pages"):
            (self.prefix / sub).mkdir(exist_ok=True)
        (self.prefix / "logs").chmod(0o700)  # every site's traffic; read by the edge's root worker
        gate_to_platform(self.control_dir, self._lock_path)
        Path(settings.ACME_WEBROOT).mkdir(parents=True, exist_ok=True)
        for page in PAGES:
            (self.pages_dir / f"{page}.html").write_text(render_to_string(f"proxy/pages/{page}.html"))

    def write_routes_file(self) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        atomic_write(self.routes_file, self.routes_text())
        self.journal.clear()  # the file holds every change now

    @property
    def journal(self) -> RouteJournal:
        return RouteJournal.in_directory(self.control_dir)

    def write_routes_file_from_journal(self) -> None:
        """Without the database: the last routes file with the changes the edge took since."""
        atomic_write(self.routes_file, self.journal.replayed(self.routes_file.read_text()))
        self.journal.clear()

    def check(self, config: Path) -> None:
        result = run(self._command(config, "-t", "-q"), doing="checking the edge's config", timeout=120, check=False)
        if result.returncode != 0:
            raise EdgeConfigInvalid((result.stderr or result.stdout).strip())

    def write_config(self, text: str | None = None, generation: str = "") -> Path:
        """Check `text` (default: rendered now) in a temporary file, then move it into place."""
        self._prepare_dirs()
        if not self.routes_file.exists():
            self.write_routes_file()
        candidate = self.prefix / "nginx.conf.new"
        try:
            write_private(candidate, self.render(generation) if text is None else text)
        except ValueError as exc:  # a value in the database failed validation on its way out
            raise EdgeConfigInvalid(f"refused before nginx saw it: {exc}") from None
        try:
            self.check(candidate)
        except EdgeConfigInvalid:
            candidate.unlink(missing_ok=True)
            raise
        os.replace(candidate, self.config_path)
        return self.config_path

    # --- the running edge ------------------------------------------------------------------------

    def _command(self, config: Path, *extra: str) -> list[str]:
        # `-e stderr` keeps nginx away from the distro's /var/log/nginx before it reads our config.
        return [self.binary, "-p", str(self.prefix), "-c", str(config), "-e", "stderr", *extra]

    def running(self) -> bool:
        try:
            pid = int((self.prefix / "run" / "nginx.pid").read_text().strip())
            os.kill(pid, 0)
            return True
        except PermissionError:
            # The master runs as root and this process does not (the web server): it exists, and
            # a route change must not be skipped as if no edge ran.
            return True
        except (OSError, ValueError):
            return False

    @property
    def _lock_path(self) -> Path:
        return self.control_dir / "lock"

    @contextmanager
    def locked(self):
        """One change at a time: applies and route updates never interleave."""
        if not self._lock_path.exists():
            self.prefix.mkdir(parents=True, exist_ok=True)
            gate_to_platform(self.control_dir, self._lock_path)
        # Read-only is enough for flock: the platform user takes the lock root's edge made.
        fd = os.open(self._lock_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def apply(self, timeout: float = 30) -> None:
        """Render, check, move into place and reload; returns once the workers serve it."""
        with self.locked():
            generation = uuid.uuid4().hex
            self._prepare_dirs()
            self.write_routes_file()
            self.write_config(generation=generation)
            if not self.running():
                return  # the edge reads it when it starts
            result = run(self._command(self.config_path, "-s", "reload"), doing="reloading the edge", timeout=60,
                         check=False)
            if result.returncode != 0:
                raise EdgeConfigInvalid(f"nginx did not reload: {result.stderr.strip()}")
            deadline = time.monotonic() + timeout
            while self._control("GET", "/generation") != generation:
                if time.monotonic() > deadline:
                    raise EdgeConfigInvalid(f"nginx did not pick up the new config within {timeout:.0f} s.")
                time.sleep(0.01)
            # New workers are up; the old ones close their listeners as they get the master's QUIT.
            time.sleep(0.05)

    def sync(self, keys: list[str]) -> None:
        """Make the running table equal the database for `keys` (hostnames and `verify:<hostname>`).

        The lines are read from the database here, under the lock, not when the change was made:
        pushes from different processes may arrive in another order than their commits, and the
        last one must carry the newest state (an address that passed to another site must not
        come back to the site that lost it). The routes file is not rewritten here, so a switch
        costs the same at any number of sites: nginx reads the file only when it starts or
        reloads, and both rewrite it from the database first (the `edge` command and apply(),
        under the same lock as this).
        """
        if not self.running():
            return  # nginx loads the routes file when it starts
        with self.locked():
            hostnames = [k for k in keys if not k.startswith("verify:")]
            verified = [k.removeprefix("verify:") for k in keys if k.startswith("verify:")]
            routes = list(Route.objects.filter(hostname__in=hostnames))
            tokens = list(VerificationToken.objects.filter(hostname__in=verified))
            present = {r.hostname for r in routes} | {f"verify:{t.hostname}" for t in tokens}
            removed = [k for k in dict.fromkeys(keys) if k not in present]
            changed = [route_line(r) for r in routes] + [verification_line(t) for t in tokens]
            # Removals first: a hostname that left one site's routes for another's is PUT after.
            if removed and self._control("DELETE", "/routes", "\n".join(removed)) is None:
                raise EdgeUnreachable("the edge did not take the route removal")
            if changed and self._control("PUT", "/routes", "\n".join(changed)) is None:
                raise EdgeUnreachable("the edge did not take the route change")
            self.journal.record(removed, changed)

    def _control(self, method: str, path: str, body: str = "") -> str | None:
        connection = _UnixHTTPConnection(str(self.control_socket))
        try:
            connection.request(method, path, body=body.encode() if body else None)
            response = connection.getresponse()
            text = response.read().decode()
            return text if response.status == 200 else None
        except OSError:
            return None
        finally:
            connection.close()

    def retire_dead_master(self) -> None:
        """Clear what a master that died (kill -9) left behind, before a new one starts.

        Its workers outlive it and go on serving on the listening sockets they inherited, so a new
        master could not bind them. They are in the dead master's process group (its pid, from the
        pid file; Linux hands out no pid that is still a group's id): QUIT makes them close their
        listeners at once and finish the requests they hold, as on a reload; the new master starts
        meanwhile (nginx retries a busy port for 2.5 s). Its control socket's file stays too, and
        nginx will not bind a unix socket over an existing file.
        """
        try:
            group = int((self.prefix / "run" / "nginx.pid").read_text().strip())
        except (OSError, ValueError):
            return  # no master ever ran here, or it stopped cleanly (nginx removes its files)
        try:
            os.kill(group, 0)
            return  # the master lives: not ours to touch (a second edge on this prefix fails to bind)
        except ProcessLookupError:
            pass
        try:
            os.killpg(group, signal.SIGQUIT)
            log.warning("the edge's last master (pid %s) is gone; its workers were told to finish", group)
        except ProcessLookupError:
            pass
        self.control_socket.unlink(missing_ok=True)

    def exec_foreground(self) -> None:
        """Replace this process by nginx in the foreground (the Procfile's `edge`)."""
        command = self._command(self.config_path, "-g", "daemon off;")
        os.execvp(command[0], command)


def portal_server() -> dict:
    """The edge's server block for the portal (PLATFORM_HTTPS): its name and gunicorn's bind,
    validated like any route, since both are written into the config."""
    address, _, port = settings.PORTAL_BIND.rpartition(":")
    address = LOOPBACK_FOR.get(address, address)  # a bind on every address is reached on loopback
    try:
        return {
            "hostname": validate_hostname(settings.PORTAL_HOSTNAME),
            "upstream": validate_upstream(f"{address}:{port}"),
            "secret": settings.EDGE_PROXY_SECRET,
            "stream_timeout": settings.STREAM_MAX_SECONDS + 60,
        }
    except InvalidRouteValue as exc:
        raise ImproperlyConfigured(f"PORTAL_HOSTNAME or PORTAL_BIND cannot be served by the edge: {exc}") from None


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("edge", timeout=5)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self._path)
