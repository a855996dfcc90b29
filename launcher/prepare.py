"""Preparing the platform before its processes start, and again on every upgrade.

    python -m launcher.prepare

Gives DATA_DIR its owners and modes, builds the images whose recipe changed, migrates the
database, collects static files, makes sure a staff login exists and writes and checks the edge's
config. It needs the Docker daemon and the database, not Redis nor any platform process, and
changes nothing that runs: `make run`, the systemd unit hosting-prepare.service and `make upgrade`
all run it. Idempotent.
"""
from __future__ import annotations

import sys

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from core.data_dir import platform_account, secure_data_dir
from launcher import Abort, fail, say
from launcher.platform import check_database, load_django


def prepare_platform() -> None:
    load_django()
    account = platform_account(settings.PLATFORM_USER)
    secure_data_dir(settings.DATA_DIR, account)
    say("Building the OS and runtime images (only those whose recipe changed)")
    call_command("build_images")
    check_database()
    say("Applying database migrations")
    call_command("migrate", interactive=False, verbosity=0)
    say("Collecting static files")
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("ensure_staff_user")
    call_command("edge", check_only=True)
    connections.close_all()
    # What root made above (the database, static files, the staff login) becomes the platform user's.
    secure_data_dir(settings.DATA_DIR, account)


def main() -> int:
    try:
        prepare_platform()
    except Abort as exc:
        fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
