"""What `make run` and `make test` start: supporting services and the platform's processes.

Everything here is started by the launcher and stopped by it again, so Ctrl-C (or the end of
the test run) leaves no process behind that the launcher started.
"""
from __future__ import annotations

import sys


class Abort(Exception):
    """Stop the launcher with one sentence for the operator, not a traceback."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(message: str) -> "NoReturn":  # noqa: F821
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)
