"""`make run`: start the whole platform in the foreground; Ctrl-C stops all it started.

    python -m launcher.run

Every process runs under one supervisord (launcher.supervisor): the Docker daemon and
Redis when none is given, then the Procfile's processes. A process that exits is restarted; the
others keep serving. The site containers are Docker's, not ours: the daemon runs with
live-restore, so they keep running while it restarts, and after Ctrl-C until the next `make run`
adopts them.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from django.conf import settings

from core.data_dir import as_user, platform_account, secure_data_dir
from launcher import Abort, fail, say
from launcher.platform import load_django
from launcher.prepare import prepare_platform
from launcher.processes import tcp_port_open
from launcher.services import (
    DOCKERD_COMMAND,
    docker_answers,
    dockerd_needed,
    prepare_redis,
    redis_answers,
    redis_command,
)
from launcher.stack import platform_programs
from launcher.supervisor import SERVICES, Program, Supervisor

BASE_DIR = Path(__file__).resolve().parents[1]


def _check_port_free(bind: str, setting: str) -> None:
    host, _, port = bind.rpartition(":")
    if tcp_port_open(host or "127.0.0.1", int(port)):
        raise Abort(f"{bind} is already in use (another `make run`?); set {setting} to use another address.")


def supervisor_directory(data_dir: Path) -> Path:
    """Where `make run`'s supervisord keeps its config and socket: how `make upgrade` finds it."""
    return data_dir / "supervisor"


def supervisor_for_run() -> tuple[Supervisor, dict[str, str]]:
    """The services this machine lacks (dockerd, the managed Redis) and the Procfile's processes,
    the latter not started yet: they wait for prepare_platform."""
    account = platform_account(settings.PLATFORM_USER)
    secure_data_dir(settings.DATA_DIR, account)
    programs = []
    if dockerd_needed():
        programs.append(Program("dockerd", DOCKERD_COMMAND, priority=SERVICES - 1, stop_seconds=30))
    if settings.MANAGED_REDIS:
        prepare_redis(settings.MANAGED_REDIS_SOCKET, settings.DATA_DIR / "redis")
        command = redis_command(settings.MANAGED_REDIS_SOCKET, settings.DATA_DIR / "redis", persistent=True)
        programs.append(Program("redis", as_user(account, command), priority=SERVICES))
    env = _process_env(settings.DATA_DIR)
    programs += platform_programs(env, account, settings.DATA_DIR, autostart=False)
    return Supervisor(supervisor_directory(settings.DATA_DIR), settings.DATA_DIR / "log", programs), env


def _process_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "DATA_DIR": str(data_dir),
    })
    return env


def run(supervisor: Supervisor, env: dict[str, str]) -> int:
    _check_port_free(os.environ.get("PORTAL_BIND", "127.0.0.1:8000"), "PORTAL_BIND")
    _check_port_free(f"{settings.PROXY_LISTEN_ADDRESS}:{settings.PROXY_HTTP_PORT}", "PROXY_HTTP_PORT")
    say(f"Starting the supervisor ({', '.join(supervisor)}); it restarts any process that exits")
    supervisor.start(env, echo=True)
    if "dockerd" in supervisor:
        supervisor["dockerd"].wait_until(docker_answers, timeout=60, what="waiting for the Docker API")
    if "redis" in supervisor:
        supervisor["redis"].wait_until(lambda: redis_answers(settings.MANAGED_REDIS_SOCKET), timeout=20,
                                       what="waiting for PING")
    prepare_platform()
    say("Starting the platform's processes")
    for name, program in supervisor.programs.items():
        if not program.autostart:
            supervisor[name].start()
    say(f"Portal:      {settings.PORTAL_URL}")
    say(f"Edge:        http://<site>.{settings.PLATFORM_DOMAIN}:{settings.PROXY_HTTP_PORT}/")
    say(f"Staff admin: {settings.PORTAL_URL.rstrip('/')}/admin/ (login above)")
    say(f"Logs:        {settings.DATA_DIR / 'log'}/<process>.log")
    say("Press Ctrl-C to stop everything this command started.")
    return supervisor.wait()


def main() -> int:
    # Ctrl-C (SIGINT) stops everything, even when whoever started us ignores it (a shell script's
    # background job does): Python then installs no handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    supervisor = None
    try:
        load_django()
        supervisor, env = supervisor_for_run()
        return run(supervisor, env)
    except Abort as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        say("Interrupted; stopping what was started")
        return 130
    finally:
        if supervisor:
            supervisor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
