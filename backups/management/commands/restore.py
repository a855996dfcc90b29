import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError

from backups.archive import BackupRefused
from backups.services import restore_backup
from core.data_dir import platform_account, secure_data_dir
from core.errors import OperatorError


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into this machine's empty database and data directory; "
            "`make run` then starts every site's current release again. Run it as root, with the platform stopped.")

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="The backup-<time>.tar.gz file.")
        parser.add_argument("--force", action="store_true",
                            help="Replace a database and data directory that already hold a platform.")

    def handle(self, *args, archive, force, **options):
        if os.geteuid() != 0:
            raise CommandError("Run the restore as root: it writes slugs and certificates, which are root's.")
        try:
            manifest = restore_backup(archive, force=force)
        except BackupRefused as exc:
            raise CommandError(f"Nothing was restored: {exc}") from None
        except (OSError, DatabaseError, DeserializationError, CommandError) as exc:
            # After the checks: the database may be half loaded; restore again with --force once fixed.
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(f"The restore failed ({first_line}); fix that and run it again with --force.") from exc
        try:  # give the restored files to their owners, as `make run` would
            secure_data_dir(Path(settings.DATA_DIR), platform_account(settings.PLATFORM_USER))
        except OperatorError as exc:
            self.stderr.write(f"Restored, but the data directory's owners are not set yet: {exc}")
        counts = ", ".join(f"{number} {name}" for name, number in manifest["counts"].items())
        hosts = ", ".join(manifest["hosts"]) or "none"
        self.stdout.write(f"Restored the backup of {manifest['created']}: {counts}. Hosts in it: {hosts}; start "
                          f"the agent under the same name (HOST_NAME) and its sites' current releases start again.")
