"""The certificate files the edge serves: where each certificate lives, which are installed, and the
self-signed fallback for names the edge has none for. Keys are readable by root and nginx's workers only."""
from __future__ import annotations

import datetime
import grp
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from proxy.models import Certificate
from proxy.validation import validate_hostname


@dataclass(frozen=True)
class CertificateFiles:
    name: str  # a hostname, or *.domain
    certificate: Path
    key: Path


def certificate_dir(hostname: str) -> Path:
    return Path(settings.CERTS_DIR) / hostname.replace("*", "_wildcard")


def readable_by_workers(path: Path) -> None:
    """nginx reads certificates per handshake in its workers (not root): give their group read
    access to the key, and nobody else."""
    try:
        gid = grp.getgrnam(settings.PROXY_WORKER_USER).gr_gid
    except KeyError:
        return
    if os.geteuid() != 0:
        return
    for item in (path.parent, path):
        os.chown(item, 0, gid)
        os.chmod(item, 0o750 if item.is_dir() else 0o640)


def installed_certificates() -> list[CertificateFiles]:
    files = []
    for cert in Certificate.objects.filter(state=Certificate.State.ISSUED).order_by("hostname"):
        name = cert.hostname
        validate_hostname(name[2:] if name.startswith("*.") else name)
        directory = certificate_dir(name)
        if (directory / "fullchain.pem").exists() and (directory / "privkey.pem").exists():
            files.append(CertificateFiles(name, directory / "fullchain.pem", directory / "privkey.pem"))
    return files


def write_self_signed(directory: Path, files: CertificateFiles) -> None:
    """A self-signed certificate for ten years: what the edge presents for names it has none for."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hosting edge fallback")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256())
    )
    fd = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    files.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    readable_by_workers(files.key)
