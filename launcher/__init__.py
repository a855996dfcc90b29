"""What `make run` and `make test` start: supporting services and the platform's processes.

Every process here is started by the launcher, under a supervisord of its own that restarts a
process that exits (launcher.supervisor), and stopped by it again: Ctrl-C (or the end of
the test run) leaves no process behind that the launcher started. Site containers are Docker's:
they keep running across a restart of the daemon (live-restore) and of the launcher.
"""
from __future__ import annotations

import sys
from typing import NoReturn

from core.errors import OperatorError


# Stop the launcher with one sentence for the operator, not a traceback (core.data_dir raises it too).
Abort = OperatorError


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)
