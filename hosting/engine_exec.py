"""Commands run inside a platform service container (part of ContainerEngine, split out for size):
the database servers' own pg_dump, psql and mariadb-dump (hosting/dbdump.py).

Only for the platform's own service containers, with fixed command lines: a site's container is never
exec'd into with these (hosting/engine.py's probe_output is the read-only probe for those).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Callable

MAX_ERROR_TAIL = 4096  # of stderr, kept for the reason of a failure


class ExecOps:
    """Mixed into ContainerEngine: it provides `client` and `_call`."""

    def _call(self, doing: str, fn, *args, **kwargs): ...  # ContainerEngine's

    def exec_stream(self, name: str, command: list[str], user: str,
                    consume: Callable[[Iterator[bytes]], None]) -> tuple[int | None, str]:
        """Run `command` in container `name` as `user`; `consume` gets its stdout as it comes (it may
        stop early by raising: the connection is then closed). Returns (exit code, stderr's tail).
        docker-py reads an exec's stream without a timeout: the command bounds its own time (`timeout`)."""
        api = self.client.api
        doing = f"running {command[0]} in {name}"
        created = self._call(doing, api.exec_create, name, command, stdout=True, stderr=True, user=user)
        stream = self._call(doing, api.exec_start, created["Id"], stream=True, demux=True)
        errors: deque[bytes] = deque(maxlen=64)

        def stdout() -> Iterator[bytes]:
            for out, err in stream:
                if err:
                    errors.append(err[-MAX_ERROR_TAIL:])
                if out:
                    yield out

        try:
            consume(stdout())
            for _ in stdout():  # what stdout left unread when consume returned: stderr's tail still comes
                pass
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        code = self._call(doing, api.exec_inspect, created["Id"]).get("ExitCode")
        return code, b"".join(errors)[-MAX_ERROR_TAIL:].decode(errors="replace")

    def exec_command(self, name: str, command: list[str], user: str) -> tuple[int | None, str]:
        """Run `command` in container `name` as `user` to its end: (exit code, the tail of its output)."""
        tail: deque[bytes] = deque(maxlen=64)

        def keep(chunks: Iterator[bytes]) -> None:
            for chunk in chunks:
                tail.append(chunk[-MAX_ERROR_TAIL:])

        code, errors = self.exec_stream(name, command, user, keep)
        return code, (b"".join(tail)[-MAX_ERROR_TAIL:].decode(errors="replace") + errors)[-MAX_ERROR_TAIL:]
