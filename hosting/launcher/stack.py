"""The platform's own processes, from the Procfile, for tests and benchmarks.

`make run` runs the same Procfile under honcho in the foreground; this starts it in the
background with each process's output in a log file.
"""
from __future__ import annotations

import time
from pathlib import Path

from hosting.launcher import Abort
from hosting.launcher.permissions import Account, as_user, platform_account, secure_data_dir, user_env
from hosting.launcher.processes import ManagedProcess, tcp_port_open

BASE_DIR = Path(__file__).resolve().parents[2]

# The Procfile's processes that keep root, and why. Every other one runs as the platform user
# (PLATFORM_USER): a process that handles customers' requests, uploads or pushes is never root.
ROOT_PROCESSES = {
    "agent": "drives the Docker daemon, the site firewall (iptables) and loop-mounted site volumes",
    "edge": "nginx's master binds the edge's ports and reads the TLS keys; its workers drop to www-data",
    "edge_worker": "checks and reloads the edge's nginx (nginx -t, reload) and lets certbot write the keys",
}


def platform_command(name: str, command: str, account: Account) -> list[str]:
    """The argv that runs Procfile entry `name` as its user: root for ROOT_PROCESSES, else `account`."""
    # Our own Procfile, not customer input: the shell only expands its ${VAR:-default}s.
    argv = ["sh", "-c", f"exec {command}"]
    return argv if name in ROOT_PROCESSES else as_user(account, argv)


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
    """Start every process of the Procfile with `env` (run as root), each as its user (see
    ROOT_PROCESSES), after giving env's DATA_DIR its owners and modes; returns them by name."""
    account = platform_account(env.get("PLATFORM_USER") or "hosting")
    data_dir = Path(env.get("DATA_DIR") or BASE_DIR / "var").resolve()
    secure_data_dir(data_dir, account)
    processes = {}
    try:
        for name, command in read_procfile(BASE_DIR / "Procfile"):
            processes[name] = ManagedProcess(name, platform_command(name, command, account), log_dir / f"{name}.log",
                                             env=env if name in ROOT_PROCESSES else user_env(env, account, data_dir),
                                             cwd=str(BASE_DIR))
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
        "edge_worker": lambda: "ready." in processes["edge_worker"].output(),
    }
    for name, ready in checks.items():
        processes[name].wait_until(ready, timeout=max(1.0, deadline - time.monotonic()), what=f"{name} to be ready")
    # A port can answer for a moment before its process gives up (nginx retries a bind for seconds).
    for name, process in processes.items():
        if not process.running:
            raise Abort(f"{name} exited while the platform started: {process.last_log_lines()}")


def stop_platform(processes: dict[str, ManagedProcess]) -> None:
    for process in processes.values():
        process.stop()
