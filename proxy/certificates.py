"""TLS certificates from an ACME server through certbot, the one class that builds its commands.

Custom domains get a certificate each by HTTP-01 (the edge serves certbot's webroot for every
name); the platform's domain gets a wildcard by DNS-01 with the Cloudflare plugin. The ACME
directory is a setting: Let's Encrypt, its staging, or a test server such as Pebble.
"""
from __future__ import annotations

import datetime
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from django.conf import settings

from core.commands import run
from proxy.certificate_files import certificate_dir, readable_by_workers

RENEW_WITHIN = datetime.timedelta(days=30)


class IssuanceFailed(Exception):
    """The ACME server did not give a certificate; the message says why, for the customer."""


@dataclass(frozen=True)
class IssuedFiles:
    directory: Path
    expires_at: datetime.datetime


def _reason(output: str) -> str:
    """The lines of certbot's output that explain a failure, without secrets or noise."""
    keep = []
    for line in output.splitlines():
        text = line.strip()
        if not text or text.startswith(("Saving debug log", "Ask for help", "Requesting a certificate", "Account registered")):
            continue
        if any(word in text for word in ("Detail:", "Type:", "Domain:", "Error", "error", "failed", "Failed", "Challenge")):
            keep.append(text)
    return " ".join(keep)[:1000] or (output.strip().splitlines() or ["certbot failed"])[-1][:1000]


class Certbot:
    def __init__(self) -> None:
        self.root = Path(settings.DATA_DIR) / "letsencrypt"

    def _base(self) -> list[str]:
        command = [
            settings.CERTBOT_BINARY, "certonly", "--non-interactive", "--agree-tos", "--quiet",
            "--config-dir", str(self.root / "config"), "--work-dir", str(self.root / "work"),
            "--logs-dir", str(self.root / "logs"), "--server", settings.ACME_DIRECTORY_URL,
            "--keep-until-expiring", "--key-type", "ecdsa",
        ]
        if settings.ACME_EMAIL:
            command += ["--email", settings.ACME_EMAIL]
        else:
            command += ["--register-unsafely-without-email"]
        return command

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if settings.ACME_CA_BUNDLE:  # a private ACME server's own TLS certificate (Pebble)
            env["REQUESTS_CA_BUNDLE"] = settings.ACME_CA_BUNDLE
        return env

    def _run(self, command: list[str], cert_name: str, install_as: str) -> IssuedFiles:
        result = run(command, doing="certbot", timeout=600, env=self._env(), check=False)
        if result.returncode != 0:
            raise IssuanceFailed(_reason(result.stdout + "\n" + result.stderr))
        return self._install(cert_name, install_as)

    def issue_http01(self, hostname: str) -> IssuedFiles:
        Path(settings.ACME_WEBROOT).mkdir(parents=True, exist_ok=True)
        command = self._base() + ["--webroot", "-w", str(settings.ACME_WEBROOT), "--cert-name", hostname, "-d", hostname]
        return self._run(command, hostname, hostname)

    def issue_wildcard(self, domain: str) -> IssuedFiles:
        """*.domain and domain by DNS-01 with Cloudflare; the token goes to a 0600 file, never a log."""
        if not settings.CLOUDFLARE_API_TOKEN:
            raise IssuanceFailed("CLOUDFLARE_API_TOKEN is not set, so the wildcard certificate cannot be issued.")
        credentials = self.root / "cloudflare.ini"
        credentials.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"dns_cloudflare_api_token = {settings.CLOUDFLARE_API_TOKEN}\n")
        command = self._base() + [
            "--dns-cloudflare", "--dns-cloudflare-credentials", str(credentials),
            "--cert-name", f"wildcard.{domain}", "-d", f"*.{domain}", "-d", domain,
        ]
        return self._run(command, f"wildcard.{domain}", f"*.{domain}")

    def _install(self, cert_name: str, hostname: str) -> IssuedFiles:
        """Copy certbot's current files where the edge reads them (certbot's live/ are symlinks)."""
        live = self.root / "config" / "live" / cert_name
        target = certificate_dir(hostname)
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in ("fullchain.pem", "privkey.pem"):
            shutil.copyfile(live / name, target / f".{name}.new")
            os.chmod(target / f".{name}.new", 0o600)
            readable_by_workers(target / f".{name}.new")
            os.replace(target / f".{name}.new", target / name)
        certificate = x509.load_pem_x509_certificate((target / "fullchain.pem").read_bytes())
        return IssuedFiles(target, certificate.not_valid_after_utc)

    def delete(self, cert_name: str) -> None:
        run([settings.CERTBOT_BINARY, "delete", "--non-interactive", "--cert-name", cert_name,
             "--config-dir", self.root / "config", "--work-dir", self.root / "work", "--logs-dir", self.root / "logs"],
            doing="deleting a certificate", timeout=120, env=self._env(), check=False)
        shutil.rmtree(certificate_dir(cert_name), ignore_errors=True)
