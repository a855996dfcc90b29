"""This host's slugs when it shares no disk with the control plane (CONTROL_PLANE_URL set).

Slugs are fetched over the control plane's internal channel with the host's token, checked by
sha256 before anything uses them (a slug is tenant build output: a corrupted or swapped file
must never start), renamed into place atomically, and kept in a cache bounded by SLUG_CACHE_MB,
least recently used first out, never one that `keep` names (slugs of instances on this host).
Without CONTROL_PLANE_URL the agent shares the control plane's data dir: the store is local.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import requests
from django.conf import settings

from core.errors import PlatformError, TransientError

log = logging.getLogger(__name__)

SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = 1 << 20
TIMEOUT = (5, 60)  # connect, read (seconds between bytes)


class SlugUnavailable(PlatformError):
    """The slug could not be had intact from the control plane."""


class ControlPlaneUnreachable(SlugUnavailable, TransientError):
    """The control plane did not answer, or answered with a server error: worth a retry (a web
    server restarting during `make upgrade`), where a missing or damaged slug is not."""


def remote() -> bool:
    return bool(settings.CONTROL_PLANE_URL)


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.HOST_TOKEN}", "X-Host-Name": settings.HOST_NAME}


def _get_chunks(path: str) -> Iterator[bytes]:
    with requests.get(f"{settings.CONTROL_PLANE_URL}{path}", headers=_headers(), stream=True,
                      timeout=TIMEOUT) as response:
        if response.status_code >= 500:
            raise ControlPlaneUnreachable(f"the control plane answered {response.status_code} for {path}")
        if response.status_code != 200:
            raise SlugUnavailable(f"the control plane answered {response.status_code} for {path}")
        yield from response.iter_content(CHUNK)


# Swapped in tests for Django's test client (the same endpoints, no server).
fetch_chunks: Callable[[str], Iterator[bytes]] = _get_chunks


def cache_dir() -> Path:
    return Path(settings.SLUGS_DIR)


def tarball(sha256: str) -> Path:
    if not SHA256.fullmatch(sha256):
        raise ValueError(f"{sha256!r} is not a sha256")
    return cache_dir() / f"{sha256}.tar.gz"


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks (slugs are up to the plan's build disk)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def ensure(sha256: str, keep: Iterable[str] = ()) -> Path:
    """The slug's tarball in this host's cache, fetched on a miss, verified before it is returned."""
    path = tarball(sha256)
    if path.is_file():
        if file_sha256(path) == sha256:
            os.utime(path)  # its use, for least-recently-used eviction (atime may be off: noatime)
            return path
        log.warning("cached slug %s does not match its checksum: fetching it again", sha256[:12])
        path.unlink(missing_ok=True)
    download(f"/internal/v1/slugs/{sha256}", path, sha256)
    evict(keep={sha256, *keep})
    return path


def download(url_path: str, target: Path, sha256: str | None = None) -> Path:
    """Stream `url_path` from the control plane into `target` (atomic rename); with `sha256`, keep
    it only if the bytes match."""
    try:
        if not store_verified(fetch_chunks(url_path), target, sha256):
            raise SlugUnavailable(f"what was fetched from {url_path} does not match its checksum ({sha256[:12]})")
    except requests.RequestException as exc:
        raise ControlPlaneUnreachable(f"the control plane is unreachable: {exc}") from None
    return target


def store_verified(chunks: Iterable[bytes], target: Path, sha256: str | None) -> bool:
    """Write `chunks` to `target` through a temporary file renamed into place (a reader sees the
    whole file or none); with `sha256`, only when the bytes match it. False: nothing was kept.
    Serves both ends of the channel: a host's fetch and the control plane's receipt of an upload."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        digest = hashlib.sha256()
        with os.fdopen(descriptor, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            return False
        os.chmod(temporary, 0o644)  # as store_slug's: the site's container reads it by bind mount
        os.replace(temporary, target)
        temporary = ""
        return True
    finally:
        if temporary:
            Path(temporary).unlink(missing_ok=True)


def evict(keep: Iterable[str] = ()) -> list[str]:
    """Remove least recently used slugs until the cache fits SLUG_CACHE_MB; never one in `keep`."""
    kept = set(keep)
    entries = []
    for path in cache_dir().glob("*.tar.gz"):
        try:
            entries.append((path.stat().st_mtime, path.stat().st_size, path))
        except FileNotFoundError:
            continue
    total = sum(size for _, size, _ in entries)
    bound = settings.SLUG_CACHE_MB * 2**20
    removed = []
    for _, size, path in sorted(entries):
        if total <= bound:
            break
        sha = path.name.removesuffix(".tar.gz")
        if sha in kept:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(sha)
    return removed


def upload(path: Path, sha256: str) -> None:
    """Send the slug this host built to the control plane's store (which checks its sha256)."""
    send_file(f"/internal/v1/slugs/{sha256}", path, f"the slug {sha256[:12]}")


def _put(url_path: str, path: Path, headers: dict[str, str]) -> tuple[int, str]:
    with open(path, "rb") as body:
        response = requests.put(f"{settings.CONTROL_PLANE_URL}{url_path}", data=body,
                                headers={**_headers(), **headers, "Content-Length": str(path.stat().st_size)},
                                timeout=TIMEOUT)
    return response.status_code, response.text


# Swapped in tests for Django's test client (the same endpoints, no server).
put_file: Callable[[str, Path, dict[str, str]], tuple[int, str]] = _put


def send_file(url_path: str, path: Path, what: str, headers: dict[str, str] | None = None) -> None:
    """PUT the file to the control plane's internal channel; it must answer 201."""
    try:
        status, text = put_file(url_path, path, headers or {})
    except requests.RequestException as exc:
        raise ControlPlaneUnreachable(f"the control plane is unreachable: {exc}") from None
    if status >= 500:
        raise ControlPlaneUnreachable(f"the control plane answered {status} to the upload of {what}")
    if status != 201:
        raise SlugUnavailable(f"the control plane refused {what}: {status} {text[:200]}")
