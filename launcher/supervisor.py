"""supervisord, run by the launcher: it restarts a process that exits and never stops the others.

`make run`, `make test` and the benchmarks start their processes as programs of one supervisord
each (ours to configure, in a directory of the run). A program that exits is started again: at
once if it had been running, with a growing pause (1 s, 2 s, 3 s ...) if it keeps failing to
start. Nothing cascades: one process ending is logged and restarted, the others keep running.
Only `Supervisor.stop` (Ctrl-C, the end of a test run) stops everything, in reverse priority.

The launcher talks to supervisord over its XML-RPC unix socket (0700, root's).
"""
from __future__ import annotations

import configparser
import http.client
import os
import shlex
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from launcher import Abort
from launcher.processes import LoggedProcess

# Priorities: supervisord starts lower numbers first and stops them last.
SERVICES, PLATFORM = 10, 100
# A program that exits within this many seconds of starting has failed to start (backoff).
START_SECONDS = 1
# Failed starts in a row before supervisord gives a program up (FATAL): about 80 minutes of backoff.
START_RETRIES = 100


@dataclass(frozen=True)
class Program:
    """One process under supervision.

    `env` is added to the environment supervisord itself has; its values are ours (paths, user
    names), never customer input, and are checked to be safe to quote in supervisord's config.
    """

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    priority: int = PLATFORM
    autostart: bool = True
    stop_signal: str = "TERM"
    stop_seconds: int = 20
    directory: str | None = None  # its working directory; supervisord's own when None

    def section(self, log_dir: Path) -> str:
        lines = [
            f"[program:{self.name}]",
            f"command={_escape(shlex.join(self.argv))}",
            f"priority={self.priority}",
            f"autostart={str(self.autostart).lower()}",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            f"stopsignal={self.stop_signal}",
            f"stopwaitsecs={self.stop_seconds}",
            # The whole process group: gunicorn's and Celery's workers, nginx's workers.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(str(log_dir / f'{self.name}.log'))}",
            "stdout_logfile_maxbytes=50MB",
            "stdout_logfile_backups=3",
        ]
        if self.directory:
            lines.append(f"directory={_escape(self.directory)}")
        if self.env:
            lines.append("environment=" + ",".join(f'{key}="{_checked(value)}"' for key, value in self.env.items()))
        return "\n".join(lines)


def _escape(value: str) -> str:
    """supervisord's config expands %(name)s: a literal % is written %%."""
    return value.replace("%", "%%")


def _checked(value: str) -> str:
    if any(c in value for c in '"\n,\\%'):
        raise ValueError(f"{value!r} cannot be written into supervisord's environment= line")
    return value


class SupervisedProcess(LoggedProcess):
    """A program as the launcher and the tests see it: its pid, whether it runs, its log."""

    def __init__(self, supervisor: "Supervisor", name: str) -> None:
        self.supervisor = supervisor
        self.name = name
        self.log_path = supervisor.log_dir / f"{name}.log"

    def info(self) -> dict:
        return self.supervisor.rpc.supervisor.getProcessInfo(self.name)

    @property
    def pid(self) -> int:
        return self.info()["pid"]

    @property
    def running(self) -> bool:
        return self.info()["statename"] == "RUNNING"

    def has_exited(self) -> bool:
        return self.info()["statename"] in ("FATAL", "BACKOFF", "EXITED")

    def start(self) -> None:
        self.supervisor.rpc.supervisor.startProcess(self.name, False)

    def stop(self) -> None:
        self.supervisor.rpc.supervisor.stopProcess(self.name, True)

    def signal(self, name: str) -> None:
        """Send signal `name` (HUP, USR1, ...) to the process, not to its group."""
        self.supervisor.rpc.supervisor.signalProcess(self.name, name)


class Supervisor(Mapping):
    """One supervisord, its config and socket in `directory`, its programs' logs in `log_dir`;
    a mapping of its programs' names to their processes."""

    def __init__(self, directory: Path, log_dir: Path, programs: list[Program]) -> None:
        self.directory = directory
        self.log_dir = log_dir
        self.programs = {program.name: program for program in programs}
        self.socket = directory / "supervisor.sock"
        self.config = directory / "supervisord.conf"
        self.popen: subprocess.Popen | None = None
        self._rpc = None

    def render(self) -> str:
        header = f"""\
[supervisord]
nodaemon=true
user=root
logfile={_escape(str(self.log_dir / 'supervisord.log'))}
logfile_maxbytes=10MB
pidfile={_escape(str(self.directory / 'supervisord.pid'))}
childlogdir={_escape(str(self.log_dir))}

[unix_http_server]
file={_escape(str(self.socket))}
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{_escape(str(self.socket))}
"""
        return header + "\n" + "\n\n".join(p.section(self.log_dir) for p in self.programs.values()) + "\n"

    def start(self, env: dict[str, str], echo: bool = False, timeout: float = 30) -> None:
        """Write the config and start supervisord with `env` as every program's base environment.
        With `echo`, supervisord's own log (which program started, exited, was restarted) goes to
        this terminal too."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.config.write_text(self.render())
        self.config.chmod(0o600)
        self.socket.unlink(missing_ok=True)
        out = None if echo else subprocess.DEVNULL
        # Its own session: the terminal's Ctrl-C reaches the launcher, which stops supervisord in order.
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.popen.poll() is not None:
                raise Abort(f"supervisord exited at start; see {self.log_dir / 'supervisord.log'}.")
            if time.monotonic() > deadline:
                raise Abort(f"supervisord did not answer within {timeout:.0f} s; see {self.log_dir / 'supervisord.log'}.")
            time.sleep(0.1)

    def answers(self) -> bool:
        """Whether a supervisord listens on this directory's socket."""
        return self.socket.exists() and self._answers()

    def _answers(self) -> bool:
        try:
            return self.rpc.supervisor.getState()["statename"] == "RUNNING"
        except (OSError, http.client.HTTPException, xmlrpc.client.Fault):
            self._rpc = None  # its connection is spent: the next call makes a new one
            return False

    @property
    def rpc(self):
        if self._rpc is None:
            self._rpc = xmlrpc.client.ServerProxy(
                "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{self.socket}"))
        return self._rpc

    def __getitem__(self, name: str) -> SupervisedProcess:
        if name not in self.programs:
            raise KeyError(name)
        return SupervisedProcess(self, name)

    @classmethod
    def attach(cls, directory: Path, log_dir: Path) -> "Supervisor":
        """The supervisord another process started in `directory` (its programs, and its log
        directory when it names one, from its config)."""
        config = configparser.RawConfigParser(interpolation=None)
        config.read(directory / "supervisord.conf")
        names = [section.removeprefix("program:") for section in config.sections() if section.startswith("program:")]
        if config.has_option("supervisord", "logfile"):
            log_dir = Path(config.get("supervisord", "logfile").replace("%%", "%")).parent
        return cls(directory, log_dir, [Program(name, []) for name in names])

    def __iter__(self):
        return iter(self.programs)

    def __len__(self) -> int:
        return len(self.programs)

    def wait(self) -> int:
        """Block until supervisord ends (in the foreground of `make run`)."""
        return self.popen.wait() if self.popen else 0

    def stop(self, timeout: float = 120) -> None:
        """Stop every program (in reverse priority, each within its stop_seconds), then supervisord."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
