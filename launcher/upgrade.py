"""`make upgrade`, after `git pull` and the install step: prepare the new version and restart the
control plane while the sites keep serving.

    python -m launcher.upgrade [--supervisor DIR] [--unit-dir DIR]

1. prepare_platform(): rebuild the images whose recipe changed, migrate, collect static files,
   check the edge's config. The old processes keep running meanwhile (migrations must suit both).
2. Give the control plane the new version's commands: a Procfile command may change with the code
   (the package split turned `gunicorn hosting.wsgi` into `config.wsgi`, `celery -A hosting` into
   `-A config`). Under systemd the installed units are rendered again and rewritten, then
   `systemctl daemon-reload` (nothing new is enabled); under `make run` the control plane's programs
   in supervisord's config are (launcher.program_update). The edge's program is never touched.
3. Restart the control plane, one process at a time: the web server by a graceful reload (its
   master stays, so the portal's port never closes; new workers load the new code), the workers,
   beat and the agent by a warm restart (a task in hand is finished first). A program whose command
   changed is started anew with it instead.
4. Reload the edge's nginx with the new config: its master stays, its old workers finish their
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

from django.conf import settings
from django.core.management import CommandError, call_command

from launcher import Abort, fail, say
from launcher.install_services import ENV_FILE, UNIT_DIR, read_env_file, systemctl, write_installed_units
from core.data_dir import platform_account
from launcher.prepare import prepare_platform
from launcher.program_update import ProgramChanges, update_programs
from launcher.stack import DATA_PLANE_PROCESSES, platform_programs, read_procfile
from launcher.supervisor import Supervisor
from launcher.systemd import CONTROL_TARGET

BASE_DIR = Path(__file__).resolve().parents[1]
# Programs of `make run`'s supervisord that are not the Procfile's (launcher.run): never ours to change.
SERVICE_PROGRAMS = {"dockerd", "redis"}


def control_plane() -> list[str]:
    return [name for name, _ in read_procfile(BASE_DIR / "Procfile") if name not in DATA_PLANE_PROCESSES]


def systemd_runs_the_platform() -> bool:
    if not Path("/run/systemd/system").is_dir():
        return False
    return subprocess.run(["systemctl", "is-active", "--quiet", CONTROL_TARGET]).returncode == 0


def refresh_units(unit_dir: Path, env_file: Path) -> list[str]:
    """The installed units rendered again from this checkout's Procfile and rewritten; systemd
    rereads them before anything restarts. Enables nothing: a new process's unit starts because
    the control target wants it."""
    changed = write_installed_units(unit_dir, env_file)
    if changed:
        say(f"Rewrote the units whose commands changed: {', '.join(changed)}")
        systemctl("daemon-reload")
    return changed


def refresh_supervised_commands(supervisor: Supervisor) -> ProgramChanges:
    """The control plane's programs get the Procfile's commands of this version."""
    account = platform_account(settings.PLATFORM_USER)
    wanted = [program for program in platform_programs({}, account, Path(settings.DATA_DIR), autostart=False)
              if program.name not in DATA_PLANE_PROCESSES]
    names = {program.name for program in wanted}
    gone = [name for name in supervisor if name not in names | DATA_PLANE_PROCESSES | SERVICE_PROGRAMS]
    changes = update_programs(supervisor, wanted, gone)
    for what, names in (("new command", changes.changed), ("new", changes.added), ("removed", changes.removed)):
        if names:
            say(f"Programs with a {what}: {', '.join(names)}" if what == "new command" else
                f"{what.capitalize()} programs: {', '.join(names)}")
    return changes


def restart_supervised(supervisor: Supervisor) -> None:
    started = refresh_supervised_commands(supervisor)
    for name in control_plane():
        if name not in supervisor or name in started.changed + started.added:
            continue  # started with its new command just now
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
    say("Reloading the edge with the new config (its master stays; sites keep serving)")
    try:
        call_command("edge", reload=True)
    except CommandError as exc:
        raise Abort(str(exc)) from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supervisor", type=Path, help="the supervisord directory of the platform to restart "
                                                         "(default: `make run`'s, DATA_DIR/supervisor)")
    parser.add_argument("--unit-dir", type=Path, default=UNIT_DIR, help="where the installed units are")
    args = parser.parse_args(argv)
    if ENV_FILE.exists():
        # A production install's settings (make install-services): the units read them, so must we,
        # or we would prepare and migrate another DATA_DIR and database than the one that serves.
        say(f"Reading the settings of the installed services from {ENV_FILE}")
        os.environ.update(read_env_file(ENV_FILE))
    try:
        prepare_platform()
        supervisor = Supervisor.attach(args.supervisor or settings.DATA_DIR / "supervisor", settings.DATA_DIR / "log")
        if systemd_runs_the_platform():
            refresh_units(args.unit_dir, ENV_FILE)
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
