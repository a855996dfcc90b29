"""`make run`: start the whole platform in the foreground; Ctrl-C stops all it started.

    python -m hosting.launcher.run
"""
from __future__ import annotations

import os
import shlex
import sys
from contextlib import ExitStack
from pathlib import Path

from hosting.launcher import Abort, fail, say
from hosting.launcher.permissions import as_user, platform_account, secure_data_dir, user_env
from hosting.launcher.platform import check_database, load_django
from hosting.launcher.processes import tcp_port_open
from hosting.launcher.services import start_dockerd_if_needed, start_redis
from hosting.launcher.stack import ROOT_PROCESSES, read_procfile

BASE_DIR = Path(__file__).resolve().parents[2]


def _check_port_free(bind: str, setting: str) -> None:
    host, _, port = bind.rpartition(":")
    if tcp_port_open(host or "127.0.0.1", int(port)):
        raise Abort(f"{bind} is already in use (another `make run`?); set {setting} to use another address.")


def prepare(stack: ExitStack) -> None:
    """Everything before the platform's own processes: services, database, staff user, edge config."""
    load_django()
    from django.conf import settings
    from django.core.management import call_command

    log_dir = settings.DATA_DIR / "log"
    account = platform_account(settings.PLATFORM_USER)
    secure_data_dir(settings.DATA_DIR, account)
    _check_port_free(os.environ.get("PORTAL_BIND", "127.0.0.1:8000"), "PORTAL_BIND")
    _check_port_free(f"{settings.PROXY_LISTEN_ADDRESS}:{settings.PROXY_HTTP_PORT}", "PROXY_HTTP_PORT")

    dockerd = start_dockerd_if_needed(log_dir)
    if dockerd:
        stack.callback(dockerd.stop)
    if settings.MANAGED_REDIS:
        say(f"Starting Redis on {settings.MANAGED_REDIS_SOCKET}")
        redis = start_redis(settings.MANAGED_REDIS_SOCKET, settings.DATA_DIR / "redis", log_dir, persistent=True,
                            account=account)
        stack.callback(redis.stop)

    say("Building the OS and runtime images (only those whose recipe changed)")
    call_command("build_images")
    check_database()
    say("Applying database migrations")
    call_command("migrate", interactive=False, verbosity=0)
    say("Collecting static files")
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("ensure_staff_user")
    call_command("edge", check_only=True)
    from django.db import connections

    connections.close_all()
    # What root made above (the database, static files, the staff login) becomes the platform user's.
    secure_data_dir(settings.DATA_DIR, account)


def run_processes() -> int:
    from django.conf import settings
    from honcho.manager import Manager

    env = dict(os.environ)
    env.update({
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "DATA_DIR": str(settings.DATA_DIR),
    })
    manager = Manager()
    account = platform_account(settings.PLATFORM_USER)
    for name, command in read_procfile(BASE_DIR / "Procfile"):
        if name in ROOT_PROCESSES:
            manager.add_process(name, command, env=env, cwd=str(BASE_DIR))
        else:  # see ROOT_PROCESSES: all the others run as the platform user
            manager.add_process(name, f"{shlex.join(as_user(account, []))} {command}",
                                env=user_env(env, account, settings.DATA_DIR), cwd=str(BASE_DIR))
    say(f"Portal:      {settings.PORTAL_URL}")
    say(f"Edge:        http://<site>.{settings.PLATFORM_DOMAIN}:{settings.PROXY_HTTP_PORT}/")
    say(f"Staff admin: {settings.PORTAL_URL.rstrip('/')}/admin/ (login above)")
    say("Press Ctrl-C to stop everything this command started.")
    manager.loop()
    return manager.returncode or 0


def main() -> int:
    with ExitStack() as stack:
        try:
            prepare(stack)
            return run_processes()
        except Abort as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            say("Interrupted; stopping what was started")
            return 130
        finally:
            say("Stopping supporting services")
    return 0


if __name__ == "__main__":
    sys.exit(main())
