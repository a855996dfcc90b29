"""Compress a tar stream the Docker daemon made of a container's folder into a gzip file, hashing
it as it is written: the build's /app into a slug, a site's /data into a backup.

The daemon makes the tar inside the container's own view, so the platform never walks a tenant's
files on the host; the stream is still the tenant's content, so it is bounded in bytes and time
(sparse files take no room on a disk but their full size in a tar)."""
from __future__ import annotations

import gzip
import hashlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class StreamTooLarge(Exception):
    pass


class StreamTooSlow(Exception):
    pass


@dataclass(frozen=True)
class Packed:
    temporary: Path  # in the target folder: the caller renames it into place, or removes it
    sha256: str
    size: int


class _Hashing:
    """A file that hashes what is written to it: the sha256 without reading the file back."""

    def __init__(self, raw, digest) -> None:
        self.raw, self.digest = raw, digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def pack(tar_stream: Iterable[bytes], folder: Path, max_bytes: int, deadline: float) -> Packed:
    """The stream gzipped into a new temporary file of `folder`; StreamTooLarge past `max_bytes`
    of tar, StreamTooSlow past `deadline` (time.monotonic()), with nothing left behind."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = folder / f".{uuid.uuid4().hex}.tar.gz"
    digest = hashlib.sha256()
    read = 0
    try:
        with open(temporary, "xb") as raw:
            with gzip.GzipFile(fileobj=_Hashing(raw, digest), mode="wb", compresslevel=1, mtime=0) as packed:
                for chunk in tar_stream:
                    read += len(chunk)
                    if read > max_bytes:
                        raise StreamTooLarge()
                    if time.monotonic() > deadline:
                        raise StreamTooSlow()
                    packed.write(chunk)
        return Packed(temporary, digest.hexdigest(), temporary.stat().st_size)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
