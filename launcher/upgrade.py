"""`make upgrade`, after `git pull` and the install step: prepare the new version and restart the
control plane while the sites keep serving.

    python -m launcher.upgrade [--supervisor DIR]

1. prepare_platform(): rebuild the images whose recipe changed, migrate, collect static files,
   check the edge's config. The old processes keep running meanwhile (migrations must suit both).
2. Restart the control plane, one process at a time: the web server by a graceful reload (its
   master stays, so the portal's port never closes; new workers load the new code), the workers,
   beat and the agent by a warm restart (a task in hand is finished first).
3. Reload the edge's nginx with the new config: its master stays, its old workers finish their
   requests. Site containers are not touched: a new release of the platform changes nothing of a
   site's running release.

It acts on the platform that runs: the systemd units (hosting-control.target) when systemd runs
them, with the settings of /etc/hosting/hosting.env, else `make run`'s supervisord, else nothing
but the preparation.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

from launcher import Abort, fail, say
from launcher.install_services import ENV_FILE, read_env_file
from launcher.prepare import prepare_platform
from launcher.stack import DATA_PLANE_PROCESSES, read_procfile
from launcher.supervisor import Supervisor
from launcher.systemd import CONTROL_TARGET

BASE_DIR = Path(__file__).resolve().parents[1]


def control_plane() -> list[str]:
    return [name for name, _ in read_procfile(BASE_DIR / "Procfile") if name not in DATA_PLANE_PROCESSES]


def systemd_runs_the_platform() -> bool:
    if not Path("/run/systemd/system").is_dir():
        return False
    return subprocess.run(["systemctl", "is-active", "--quiet", CONTROL_TARGET]).returncode == 0


def restart_supervised(supervisor: Supervisor) -> None:
    missing = [name for name in control_plane() if name not in supervisor]
    if missing:
        say(f"New processes in the Procfile ({', '.join(missing)}): stop and start `make run` to add them")
    for name in control_plane():
        if name not in supervisor:
            continue
        process = supervisor[name]
        if name == "web":
            say("Reloading the web server (gunicorn starts new workers, then stops the old ones)")
            process.signal("HUP")
        else:
            say(f"Restarting {name}")
            process.stop()
            process.start()
            process.wait_until(lambda: process.running, timeout=60, what="running again")


def reload_edge() -> None:
    from django.core.management import CommandError, call_command

    say("Reloading the edge with the new config (its master stays; sites keep serving)")
    try:
        call_command("edge", reload=True)
    except CommandError as exc:
        raise Abort(str(exc)) from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supervisor", type=Path, help="the supervisord directory of the platform to restart "
                                                         "(default: `make run`'s, DATA_DIR/supervisor)")
    args = parser.parse_args(argv)
    if ENV_FILE.exists():
        # A production install's settings (make install-services): the units read them, so must we,
        # or we would prepare and migrate another DATA_DIR and database than the one that serves.
        say(f"Reading the settings of the installed services from {ENV_FILE}")
        os.environ.update(read_env_file(ENV_FILE))
    try:
        prepare_platform()
        from django.conf import settings

        supervisor = Supervisor.attach(args.supervisor or settings.DATA_DIR / "supervisor", settings.DATA_DIR / "log")
        if systemd_runs_the_platform():
            say(f"Restarting {CONTROL_TARGET} (systemd)")
            subprocess.run(["systemctl", "restart", CONTROL_TARGET], check=True)
        elif supervisor.answers():
            restart_supervised(supervisor)
        else:
            say("No running platform found (neither systemd's nor `make run`'s): prepared only; `make run` starts it.")
            return 0
        reload_edge()
    except (Abort, subprocess.CalledProcessError, xmlrpc.client.Fault) as exc:
        fail(str(exc))
    say("Upgraded.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
