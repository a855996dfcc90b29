"""Attachments as they arrive: a file past SUPPORT_ATTACHMENT_MAX_BYTES, or past the number a
message may carry, is skipped while it streams (read and dropped, never spooled whole), and the
form's text still arrives, so the page can say which file was refused and keep what was typed.
A body declared larger than a full message could ever be is refused before it is read.

Call `limit_request` before anything reads the request's body: the CSRF check reads it, so the
views that take attachments are csrf_exempt and check CSRF themselves after this (Django's
documented pattern for upload handlers).
"""
from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from support import attachments

FORM_OVERHEAD = 256 * 1024  # the subject, the message (up to 20,000 characters) and multipart headers


class AttachmentLimit(FileUploadHandler):
    """The first upload handler: skips a file once it passes the size limit, and every file after
    the number allowed; notes the names it refused."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.refused: list[str] = []
        self.files = 0
        self.size = 0

    def new_file(self, field_name, file_name, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.files += 1
        self.size = 0
        if self.files > attachments.max_count():
            self.refused.append(attachments.clean_filename(file_name))
            raise SkipFile()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.size += len(raw_data)
        if self.size > attachments.max_bytes():
            self.refused.append(attachments.clean_filename(self.file_name))
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) makes the file

    def problem(self) -> str:
        if self.files > attachments.max_count():
            return f"Attach at most {attachments.max_count()} files to a message; nothing was sent."
        if self.refused:
            return (f"{', '.join(self.refused)}: larger than the limit of {attachments.size_in_words(attachments.max_bytes())} "
                    "for an attachment; nothing was sent.")
        return ""


def body_too_large(request) -> bool:
    """Whether the declared body is larger than any message with its attachments could be."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    limit = attachments.max_count() * attachments.max_bytes() + FORM_OVERHEAD
    return declared.isdigit() and int(declared) > limit


def limit_request(request) -> AttachmentLimit:
    handler = AttachmentLimit(request)
    request.upload_handlers.insert(0, handler)
    return handler
