"""Files sent with a ticket's messages.

An upload's name is the customer's text: it is only ever shown (cleaned: its last path component,
no control or formatting characters, a bounded length) and offered as the download's name. The
bytes are stored under SUPPORT_DIR with a random name made here, so no upload can choose where it
lands. Served back, a file is always a download of opaque bytes (`download_headers`), so an
uploaded HTML page never renders in the portal's origin.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404

from support.models import Attachment, Message

MAX_FILENAME = 120
MAX_EXTENSION = 16
FALLBACK_NAME = "attachment"
_STORED_NAME = re.compile(r"[0-9a-f]{32}")
CHUNK = 64 * 1024


def max_bytes() -> int:
    return settings.SUPPORT_ATTACHMENT_MAX_BYTES


def max_count() -> int:
    return settings.SUPPORT_ATTACHMENTS_PER_MESSAGE


def directory() -> Path:
    return Path(settings.SUPPORT_DIR)


def clean_filename(name: str) -> str:
    """The name to show: the last component of either kind of path, without control, formatting
    (e.g. right-to-left overrides that disguise an extension) or unassigned characters, trimmed,
    at most MAX_FILENAME characters with the extension kept."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith(("C", "Z")) or ch == " ")
    name = name.strip(" .")  # ".." and trailing dots (Windows drops them) say nothing
    if not name:
        return FALLBACK_NAME
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= MAX_EXTENSION:
            return stem[:MAX_FILENAME - len(extension) - 1].rstrip(" .") + "." + extension
        return name[:MAX_FILENAME].rstrip(" .")
    return name


def size_in_words(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.0f} MB"
    return f"{size / 2**10:.0f} KB" if size >= 2**10 else f"{size} bytes"


def check_uploads(files: Iterable) -> list:
    """The uploads of one message, refused with the reason when there are too many or one is too
    large (before anything is stored)."""
    files = [upload for upload in files if upload is not None]
    if len(files) > max_count():
        raise ValidationError(f"Attach at most {max_count()} files to a message; you chose {len(files)}.")
    for upload in files:
        if upload.size > max_bytes():
            raise ValidationError(f"{clean_filename(upload.name)} is larger than {size_in_words(max_bytes())}, "
                                  "the limit for an attachment; it was not sent.")
    return files


@dataclass
class Stored:
    filename: str
    stored_name: str
    size_bytes: int
    sha256: str


def _write(upload) -> Stored:
    folder = directory()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored_name = uuid.uuid4().hex
    # O_EXCL and O_NOFOLLOW: a new file of ours, never one that was there (or a link to elsewhere).
    fd = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks(CHUNK):
            size += len(chunk)
            if size > max_bytes():  # the upload's own size was a claim; the bytes are what counts
                raise ValidationError(f"{clean_filename(upload.name)} is larger than {size_in_words(max_bytes())}.")
            digest.update(chunk)
            out.write(chunk)
    return Stored(clean_filename(upload.name), stored_name, size, digest.hexdigest())


@contextmanager
def stored(files: Iterable) -> Iterator[list[Stored]]:
    """Write the uploads to their random names; if the block (the message's transaction) fails,
    remove them again, so no file outlives a message that was never saved."""
    written: list[Stored] = []
    try:
        for upload in check_uploads(files):
            written.append(_write(upload))
        yield written
    except BaseException:
        for item in written:
            remove(item.stored_name)
        raise


def attach(message: Message, written: list[Stored]) -> list[Attachment]:
    return Attachment.objects.bulk_create(
        [Attachment(message=message, filename=item.filename, stored_name=item.stored_name,
                    size_bytes=item.size_bytes, sha256=item.sha256) for item in written])


def remove_after_delete(sender, instance: Attachment, **kwargs) -> None:
    """post_delete of an Attachment (also when its organization is deleted, by cascade): its file
    goes once the deletion commits, so no customer's file outlives its row, and a rolled-back
    deletion keeps it."""
    stored_name = instance.stored_name
    transaction.on_commit(lambda: remove(stored_name))


def remove(stored_name: str) -> None:
    if _STORED_NAME.fullmatch(stored_name):
        (directory() / stored_name).unlink(missing_ok=True)


def open_stored(attachment: Attachment) -> BinaryIO:
    """The attachment's bytes (404 when the file is gone). The path comes from our own random
    name, checked to be one, never from the upload's name."""
    if not _STORED_NAME.fullmatch(attachment.stored_name):
        raise Http404("No such attachment.")
    try:
        fd = os.open(directory() / attachment.stored_name, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise Http404("The attachment's file is missing.") from None
    return os.fdopen(fd, "rb")


def content_disposition(filename: str) -> str:
    """`attachment` with the name twice (RFC 6266): an ASCII fallback for old clients and the exact
    name as UTF-8 in filename* (RFC 8187); neither can end the header or add a parameter."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename) or FALLBACK_NAME
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(attachment: Attachment) -> dict[str, str]:
    """A download that no browser renders: opaque bytes, not sniffed, sandboxed if opened anyway."""
    return {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": content_disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, no-store",
    }


def download(attachment: Attachment) -> FileResponse:
    """The attachment's bytes as a download that never renders (the portal and the staff admin)."""
    response = FileResponse(open_stored(attachment), content_type="application/octet-stream")
    for header, value in download_headers(attachment).items():
        response[header] = value
    return response
