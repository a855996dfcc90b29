"""The pre-receive hook, served inside the web process that serves the push.

git http-backend runs `git receive-pack`, which runs the repository's pre-receive hook; that hook
(sites/hook_client.py) is a relay of a few milliseconds that hands git's ref updates to the
web process over a socket passed down to it, and prints what comes back. The deployment is
created and followed here (sites.hooks.pre_receive), in the worker that already holds the push's
request, its authorisation and its stream slot: no second interpreter loads Django for every push.

The protocol on the socket: the hook sends one JSON request prefixed with its length (4 bytes, big
endian); the web answers with frames of one type byte and a 4-byte length: `o` output for git's
client, then `x` the hook's exit status. A build's output is the tenant's text, any bytes: the
frames carry it as it is.
"""
from __future__ import annotations

import contextvars
import json
import logging
import socket
import threading
from pathlib import Path

from django.db import connection

from sites.git import Repository
from sites.hooks import pre_receive

log = logging.getLogger(__name__)

CLIENT = Path(__file__).resolve().parent / "hook_client.py"
QUARANTINE = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")
MAX_REQUEST = 1024 * 1024  # ref updates of one push: far less than this
FAILED = "The platform could not take this push; nothing was deployed. Try again in a minute."


class HookChannel:
    """One push's socket pair: `child_fd` goes to git http-backend, the other end is served here."""

    def __init__(self, site_uuid: str, pusher) -> None:
        self.site_uuid, self.pusher = site_uuid, pusher
        self._ours, self._theirs = socket.socketpair()
        self.child_fd = self._theirs.fileno()
        # The request's context goes along: the audit log records the push's client address.
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._serve,), daemon=True)

    def start(self) -> None:
        """Serve the hook once git runs it; call after git http-backend started with `child_fd`."""
        self._theirs.close()  # the child holds its copy: our end then sees the end when git is done
        self._thread.start()

    def close(self) -> None:
        self._theirs.close()
        self._ours.close()

    def _serve(self) -> None:
        try:
            request = self._request()
            if request is None:
                return  # the push ended before its hook ran (refused by git, or nothing to update)
            out = _FrameWriter(self._ours)
            repository = Repository(self.site_uuid).path
            status = pre_receive(self.site_uuid, self.pusher, request["lines"], out,
                                 quarantine_env(request["env"], repository))
            _send(self._ours, b"x", str(status).encode())
        except OSError as exc:  # git's client left, and git with it: the deployment goes on without them
            log.info("the push hook's connection ended: %s", exc, extra={"site": self.site_uuid})
        except Exception:
            log.exception("the push hook failed", extra={"site": self.site_uuid})
            try:
                _send(self._ours, b"o", f" !     {FAILED}\n".encode())
                _send(self._ours, b"x", b"1")
            except OSError:
                pass
        finally:
            connection.close()  # this thread's own database connection
            self._ours.close()

    def _request(self) -> dict | None:
        head = _receive_exactly(self._ours, 4)
        if head is None:
            return None
        size = int.from_bytes(head, "big")
        if size > MAX_REQUEST:
            raise ValueError(f"a hook request of {size} bytes")
        request = json.loads(_receive_exactly(self._ours, size) or b"{}")
        lines = [line for line in request.get("lines", []) if isinstance(line, str) and line.strip()]
        env = {name: value for name, value in request.get("env", {}).items() if isinstance(value, str)}
        return {"lines": lines, "env": env}


def quarantine_env(env: dict[str, str], repository: Path) -> dict[str, str]:
    """The object directories git set up for the push's objects, so that `git archive` of the new
    commit finds them. Only paths inside the repository's own objects directory are passed on."""
    objects = (repository / "objects").resolve()
    passed = {}
    for name in QUARANTINE:
        paths = [part for part in env.get(name, "").split(":") if part]
        if paths and all(Path(part).resolve().is_relative_to(objects) for part in paths):
            passed[name] = ":".join(paths)
    return passed


class _FrameWriter:
    """What sites.hooks writes for git's client, sent as output frames."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, text: str) -> None:
        _send(self._sock, b"o", text.encode(errors="replace"))

    def flush(self) -> None:
        pass


def _send(sock: socket.socket, kind: bytes, body: bytes) -> None:
    sock.sendall(kind + len(body).to_bytes(4, "big") + body)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
