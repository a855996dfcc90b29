"""The REST API over urllib: a Bearer token, JSON in and out, and every error the platform can
answer turned into a message a person can act on and an exit code a script can test."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Iterator, Optional

from hosting_cli import __version__
from hosting_cli.errors import FAILED, FORBIDDEN, NOT_FOUND, NOT_LOGGED_IN, UNAVAILABLE, CliError

USER_AGENT = f"hosting-cli/{__version__}"
BAD_TOKEN = ("The platform refused your token (wrong, revoked or expired). Log in again with `hosting login`.")


def _message_of(body: Any) -> str:
    """The platform's problem details (RFC 9457: `detail` is the sentence, field-named already) or
    older bodies ({"detail": ...}, {"field": ["..."]}, lists) as one readable line."""
    if isinstance(body, dict) and isinstance(body.get("detail"), str) and "status" in body:
        return body["detail"]
    if isinstance(body, dict):
        if "detail" in body and len(body) == 1:
            return _message_of(body["detail"])
        return "; ".join(f"{key}: {_message_of(value)}" if key != "detail" else _message_of(value)
                         for key, value in body.items())
    if isinstance(body, list):
        return " ".join(_message_of(item) for item in body)
    return str(body)


def error_for(status: int, raw: bytes, retry_after: Optional[str] = None) -> CliError:
    try:
        message = _message_of(json.loads(raw.decode() or "null")) if raw else ""
    except ValueError:
        message = ""
    if status == 401:
        return CliError(BAD_TOKEN, NOT_LOGGED_IN)
    if status == 403:
        return CliError(message or "Your role may not do this.", FORBIDDEN)
    if status == 404:
        return CliError(message or "Not found.", NOT_FOUND)
    if status == 429:
        wait = f" (retry in {retry_after} s)" if retry_after else ""
        return CliError(f"{message or 'Too many requests'}{wait}.", UNAVAILABLE)
    if status >= 500:
        return CliError(f"The platform failed to answer ({status}){': ' + message if message else ''}. "
                        "Try again in a moment.", UNAVAILABLE)
    return CliError(message or f"The platform refused the request ({status}).", FAILED)


class Api:
    def __init__(self, portal: str, token: str, timeout: float = 60) -> None:
        self.portal = portal.rstrip("/")
        self.token = token
        self.timeout = timeout

    def url(self, path: str, query: Optional[dict] = None) -> str:
        url = f"{self.portal}/api/v1/{path.lstrip('/')}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return url

    def open(self, method: str, path: str, *, query: Optional[dict] = None, data: Optional[bytes] = None,
             content_type: Optional[str] = None, timeout: Optional[float] = -1):
        """The raw response (for streams); errors raised as CliError. `timeout`: -1 the client's,
        None none (a followed log may be quiet for long)."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url(path, query), data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout if timeout == -1 else timeout)
        except urllib.error.HTTPError as exc:
            raise error_for(exc.code, exc.read(), exc.headers.get("Retry-After")) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CliError(f"Cannot reach the platform at {self.portal}: {reason}.", UNAVAILABLE) from None

    def call(self, method: str, path: str, body: Any = None, *, query: Optional[dict] = None) -> Any:
        """A JSON call: the decoded answer (None for 204)."""
        data = json.dumps(body).encode() if body is not None else None
        with self.open(method, path, query=query, data=data,
                       content_type="application/json" if data is not None else None) as response:
            raw = response.read()
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def upload(self, path: str, field: str, filename: str, content: bytes) -> Any:
        """A multipart/form-data POST of one file."""
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        body = head + content + f"\r\n--{boundary}--\r\n".encode()
        with self.open("POST", path, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       timeout=600) as response:
            return json.loads(response.read())

    def stream_lines(self, method: str, path: str, body: Any = None, query: Optional[dict] = None) -> Iterator[str]:
        """A text/plain streaming answer, line by line as the platform sends them (no read timeout:
        a followed log may be quiet for long)."""
        data = json.dumps(body).encode() if body is not None else None
        response = self.open(method, path, query=query, data=data,
                             content_type="application/json" if data is not None else None, timeout=None)
        with response:
            for raw in iter(response.readline, b""):
                yield raw.decode("utf-8", "replace").rstrip("\n")
