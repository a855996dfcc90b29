"""The platform's own processes, from the Procfile, as supervisord programs.

`make run` supervises them in the foreground; tests and benchmarks start them in the background
with the same supervision (a process that exits is restarted, the others keep running) and each
process's output in a log file.
"""
from __future__ import annotations

import time
from pathlib import Path

from launcher import Abort
from core.data_dir import Account, as_user, platform_account, secure_data_dir
from launcher.permissions import user_env
from launcher.processes import tcp_port_open
from launcher.supervisor import Program, Supervisor

BASE_DIR = Path(__file__).resolve().parents[1]

# The Procfile's processes that keep root, and why. Every other one runs as the platform user
# (PLATFORM_USER): a process that handles customers' requests, uploads or pushes is never root.
ROOT_PROCESSES = {
    "agent": "drives the Docker daemon, the site firewall (iptables) and loop-mounted site volumes",
    "edge": "nginx's master binds the edge's ports and reads the TLS keys; its workers drop to www-data",
    "edge_worker": "checks and reloads the edge's nginx (nginx -t, reload) and lets certbot write the keys",
}

# The data plane: it serves the sites and is never restarted with the control plane (an upgrade
# reloads it; the systemd units do not stop it with hosting-control.target).
DATA_PLANE_PROCESSES = {"edge"}


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


# How long a process may take to stop before it is killed: the agent and the workers finish the
# task in hand (Celery's warm shutdown), the web server its requests; the edge's workers close
# their listeners at once and finish their requests.
STOP_SECONDS = {"agent": 60, "worker": 60, "edge_worker": 60, "web": 10, "edge": 10, "beat": 10}


def platform_programs(env: dict[str, str], account: Account, data_dir: Path, autostart: bool = True) -> list[Program]:
    """The Procfile as supervisord programs, each as its user (see ROOT_PROCESSES).

    `env` is supervisord's own environment, which root's processes get as it is; the platform
    user's get their own HOME, names and Docker socket on top (permissions.user_env).
    """
    own = user_env({}, account, data_dir)
    return [
        Program(name, platform_command(name, command, account), env={} if name in ROOT_PROCESSES else own,
                autostart=autostart, stop_signal="QUIT" if name == "edge" else "TERM",
                stop_seconds=STOP_SECONDS.get(name, 20))
        for name, command in read_procfile(BASE_DIR / "Procfile")
    ]


def start_platform(env: dict[str, str], log_dir: Path) -> Supervisor:
    """Start every process of the Procfile under supervision with `env` (run as root), each as its
    user, after giving env's DATA_DIR its owners and modes; the result maps names to processes."""
    account = platform_account(env.get("PLATFORM_USER") or "hosting")
    data_dir = Path(env.get("DATA_DIR") or BASE_DIR / "var").resolve()
    secure_data_dir(data_dir, account)
    supervisor = Supervisor(log_dir / "supervisor", log_dir, platform_programs(env, account, data_dir))
    supervisor.start({**env, "PYTHONUNBUFFERED": "1"})
    return supervisor


def wait_until_ready(processes: Supervisor, portal_port: int, edge_port: int, timeout: float = 120) -> None:
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


def stop_platform(processes: Supervisor) -> None:
    processes.stop()
