"""The one way the platform runs a program: an argument list (never a shell), a timeout, and an
error that names what was being done when the program fails.

The wrappers around outside tools (git, nginx, certbot, iptables, mount) call `run`, so no other
module builds a command line or decides on its own what a failed or hung program means.
"""
from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.errors import PlatformError


class CommandFailed(PlatformError):
    """A program exited non-zero, hung past its timeout, or is not installed."""

    def __init__(self, doing: str, output: str, returncode: int | None) -> None:
        self.doing, self.output, self.returncode = doing, output, returncode
        last = output.strip().splitlines()[-1:] or ["no output"]
        super().__init__(f"{doing} failed: {last[0][:500]}")


def run(argv: Sequence[str | Path], *, doing: str, timeout: float, input: str | bytes | None = None,
        cwd: str | Path | None = None, env: Mapping[str, str] | None = None, check: bool = True,
        text: bool = True) -> subprocess.CompletedProcess:
    """Run `argv` to its end and return what it printed (stdout and stderr apart).

    With `check` (the default), a non-zero exit raises CommandFailed with `doing` ("applying the
    firewall") and the program's last line of output; a timeout or a missing program always does.
    """
    try:
        result = subprocess.run([str(arg) for arg in argv], input=input, capture_output=True, text=text,
                                timeout=timeout, cwd=cwd, env=None if env is None else dict(env))
    except subprocess.TimeoutExpired:
        raise CommandFailed(doing, f"{argv[0]} did not finish within {timeout:g} s", None) from None
    except FileNotFoundError:
        raise CommandFailed(doing, f"{argv[0]} is not installed", None) from None
    if check and result.returncode != 0:
        output = result.stderr or result.stdout
        raise CommandFailed(doing, output if isinstance(output, str) else output.decode(errors="replace"),
                            result.returncode)
    return result
