"""The edge nginx: its own prefix directory and config, rendered here and checked before use."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string


class EdgeConfigInvalid(Exception):
    """`nginx -t` refused a rendered config; the message carries nginx's own words."""


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

    def render(self) -> str:
        return render_to_string(
            "proxy/nginx.conf",
            {
                "prefix": self.prefix,
                "listen_address": settings.PROXY_LISTEN_ADDRESS,
                "http_port": settings.PROXY_HTTP_PORT,
            },
        )

    def _command(self, config: Path, *extra: str) -> list[str]:
        # `-e stderr` keeps nginx away from the distro's /var/log/nginx before it reads our config.
        return [self.binary, "-p", str(self.prefix), "-c", str(config), "-e", "stderr", *extra]

    def check(self, config: Path) -> None:
        result = subprocess.run(self._command(config, "-t", "-q"), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise EdgeConfigInvalid((result.stderr or result.stdout).strip())

    def write_config(self) -> Path:
        """Render, check in a temporary file, then move into place atomically."""
        for sub in ("run", "tmp", "logs"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        candidate = self.prefix / "nginx.conf.new"
        candidate.write_text(self.render())
        try:
            self.check(candidate)
        except EdgeConfigInvalid:
            candidate.unlink(missing_ok=True)
            raise
        os.replace(candidate, self.config_path)
        return self.config_path

    def exec_foreground(self) -> None:
        """Replace this process by nginx in the foreground (the Procfile's `edge`)."""
        command = self._command(self.config_path, "-g", "daemon off;")
        os.execvp(command[0], command)
