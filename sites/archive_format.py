"""Is an upload a .tar.gz, .tar or .zip at all? Told from its first bytes, before anything is stored.

Only the head is read (and for gzip, its first block inflated, bounded): the archive itself is opened
and unpacked by the build, as the site's uid (the trust boundary). A file that is none of the three,
whatever its name, is refused at once rather than failing later in the build.
"""
from __future__ import annotations

import zlib

HEAD_BYTES = 4096
TAR_BLOCK = 512
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; the end record of an empty zip
GZIP_MAGIC = b"\x1f\x8b"


def _is_tar_header(block: bytes) -> bool:
    """A POSIX/GNU header ("ustar" at 257), or an old v7 header whose checksum adds up."""
    if len(block) < TAR_BLOCK:
        return False
    if block[257:262] == b"ustar":
        return True
    stored = block[148:156].split(b"\0")[0].strip()
    try:
        checksum = int(stored, 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:TAR_BLOCK])
    return block[0] != 0 and checksum == computed


def _gunzipped_head(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, TAR_BLOCK)
    except zlib.error:
        return b""


def archive_kind(head: bytes) -> str | None:
    """"zip", "tar.gz" or "tar" from a file's first HEAD_BYTES bytes; None when it is none of them."""
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        return "tar.gz" if _is_tar_header(_gunzipped_head(head)) else None
    return "tar" if _is_tar_header(head[:TAR_BLOCK]) else None
