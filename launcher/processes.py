"""Child processes the launcher owns: started in their own session, stopped as a group."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from launcher import Abort


class LoggedProcess:
    """A process with its output in `log_path`, waited on until it is ready (or has exited)."""

    name: str
    log_path: Path

    def has_exited(self) -> bool:
        raise NotImplementedError

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def last_log_lines(self, count: int = 5) -> str:
        return " | ".join(self.output().strip().splitlines()[-count:])

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.has_exited():
                raise Abort(f"{self.name} exited while starting ({what}): {self.last_log_lines()}")
            time.sleep(0.2)
        raise Abort(f"{self.name} did not become ready within {timeout:.0f} s ({what}); see {self.log_path}.")


class ManagedProcess(LoggedProcess):
    """A long-running child with its output in a log file; `stop` ends it and its children."""

    def __init__(self, name: str, command: list[str], log_path: Path, stop_signal: int = signal.SIGTERM,
                 **popen_kwargs) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.popen_env = popen_kwargs.get("env")
        self.popen_cwd = popen_kwargs.get("cwd")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        try:
            # A session of its own: the terminal's Ctrl-C reaches the launcher, which stops us in order.
            self.popen = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                start_new_session=True, **popen_kwargs,
            )
        except FileNotFoundError:
            self._log.close()
            raise Abort(f"{command[0]} is not installed; run `make run` or `make test` to install it.") from None

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def has_exited(self) -> bool:
        return not self.running

    def stop(self, timeout: float = 20) -> None:
        if self.running:
            try:
                os.killpg(self.popen.pid, self.stop_signal)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
