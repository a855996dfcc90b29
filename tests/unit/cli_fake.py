"""A fake platform API for the CLI's unit tests (our own interface, faked at HTTP), and a way to
run the CLI in this process with its own HOME and config directory."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union

from hosting_cli.main import main

# (status, body[, content type[, headers]]) or a function of the request that returns one
Answer = Union[tuple, Callable[[dict], tuple]]


@dataclass
class FakeApi:
    token: str = "hst_good-token"
    routes: dict = field(default_factory=dict)      # (method, path) -> Answer
    requests: list = field(default_factory=list)    # what the CLI sent: method, path, headers, body
    url: str = ""

    def on(self, method: str, path: str, answer: Answer) -> None:
        self.routes[(method, path)] = answer

    def sent(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if (r["method"], r["path"]) == (method, path)]


def _handler(api: FakeApi):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            path, _, query = self.path.partition("?")
            request = {"method": self.command, "path": path, "query": query, "headers": dict(self.headers),
                       "body": self.rfile.read(length)}
            api.requests.append(request)
            if self.headers.get("Authorization") != f"Bearer {api.token}":
                return self._send(401, {"detail": "Invalid token."})
            answer = api.routes.get((self.command, path))
            if answer is None:
                return self._send(404, {"detail": "No such site."})
            self._send(*(answer(request) if callable(answer) else answer))

        def _send(self, status: int, body: Any, content_type: str = "application/json", headers=None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

    return Handler


def serve(api: FakeApi):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `hosting argv...` run in this process."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err
