"""Archive uploads, cut off while they stream once they pass the plan's max_push_mb.

Django spools an upload (in memory, then a temporary file) before a view could look at its size.
`limit_upload` puts a handler in front of Django's own: it counts the file's bytes as they arrive
and stops the upload at the limit, so no more than the plan allows is ever read or written, with
or without a Content-Length (gunicorn undoes a chunked body; Django alone would read nothing).
"""
from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.core.handlers.wsgi import LimitedStream
from rest_framework import status
from rest_framework.exceptions import APIException

# Multipart headers and the other form fields around the file: a declared length may exceed the
# file limit by this much before it is refused unread.
FORM_OVERHEAD = 64 * 1024


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"

    def __init__(self, limit_mb: int) -> None:
        super().__init__(f"The archive is larger than your plan allows ({limit_mb} MB); it was not stored.")


class PlanLimitUploadHandler(FileUploadHandler):
    """First of the upload handlers: passes chunks on until `limit` bytes, then stops the upload
    without reading the rest (connection_reset: Django does not drain the body either)."""

    def __init__(self, request, limit_mb: int) -> None:
        super().__init__(request)
        self.limit_mb = limit_mb
        self.limit = limit_mb * 2**20
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) makes the file


def limit_upload(django_request, limit_mb: int) -> PlanLimitUploadHandler:
    """Prepare `django_request` so that reading its files stops at `limit_mb`; call before its
    body is read. A declared length past the limit is refused at once."""
    limit = limit_mb * 2**20
    declared = django_request.META.get("CONTENT_LENGTH") or ""
    if declared.strip():
        try:
            length = int(declared)
        except ValueError:
            length = 0
        if length > limit + FORM_OVERHEAD:
            raise UploadTooLarge(limit_mb)  # refused before a byte of the body is read
    elif "chunked" in django_request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # No length: read the server's de-chunked input, never more than the limit allows.
        django_request._stream = LimitedStream(django_request.environ["wsgi.input"], limit + FORM_OVERHEAD)
        django_request.META["CONTENT_LENGTH"] = str(limit + FORM_OVERHEAD)
    handler = PlanLimitUploadHandler(django_request, limit_mb)
    django_request.upload_handlers.insert(0, handler)
    return handler


def read_within_plan(request, limit_mb: int):
    """`request.data` (DRF's), read with the upload stopped at `limit_mb`; 413 past it."""
    handler = limit_upload(request._request, limit_mb)
    data = request.data
    if handler.exceeded:
        raise UploadTooLarge(limit_mb)
    return data

