"""The platform's own processes, from the Procfile, for tests and benchmarks.

`make run` runs the same Procfile under honcho in the foreground; this starts it in the
background with each process's output in a log file.
"""
from __future__ import annotations

import time
from pathlib import Path

from hosting.launcher import Abort
from hosting.launcher.processes import ManagedProcess, tcp_port_open

BASE_DIR = Path(__file__).resolve().parents[2]


def read_procfile(path: Path) -> list[tuple[str, str]]:
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().isidentifier() or not command.strip():
            raise Abort(f"{path.name} line {number} is not `name: command`.")
        entries.append((name.strip(), command.strip()))
    return entries


def start_platform(env: dict[str, str], log_dir: Path) -> dict[str, ManagedProcess]:
    """Start every process of the Procfile with `env`; returns them by name."""
    processes = {}
    try:
        for name, command in read_procfile(BASE_DIR / "Procfile"):
            # Our own Procfile, not customer input: the shell only expands its ${VAR:-default}s.
            processes[name] = ManagedProcess(name, ["sh", "-c", f"exec {command}"], log_dir / f"{name}.log",
                                             env=env, cwd=str(BASE_DIR))
    except Exception:
        stop_platform(processes)
        raise
    return processes


def wait_until_ready(processes: dict[str, ManagedProcess], portal_port: int, edge_port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    checks = {
        "web": lambda: tcp_port_open("127.0.0.1", portal_port),
        "edge": lambda: tcp_port_open("127.0.0.1", edge_port),
        "worker": lambda: "ready." in processes["worker"].output(),
        "agent": lambda: "ready." in processes["agent"].output(),
    }
    for name, ready in checks.items():
        processes[name].wait_until(ready, timeout=max(1.0, deadline - time.monotonic()), what=f"{name} to be ready")


def stop_platform(processes: dict[str, ManagedProcess]) -> None:
    for process in processes.values():
        process.stop()
