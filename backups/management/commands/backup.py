import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backups.services import create_backup


class Command(BaseCommand):
    help = ("Write one archive of the platform's state (database, secrets, git repositories, slugs, certificates) "
            "into BACKUP_DIR. Run it as root: slugs and certificates are root's.")

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", type=Path, default=None, help="Where to write it (default: BACKUP_DIR).")

    def handle(self, *args, output_dir, **options):
        if os.geteuid() != 0:
            raise CommandError("Run the backup as root: slugs and certificates are root's.")
        path, manifest = create_backup(output_dir or Path(settings.BACKUP_DIR))
        counts = ", ".join(f"{number} {name}" for name, number in manifest["counts"].items())
        self.stdout.write(f"Backup written to {path} ({path.stat().st_size / 2**20:.1f} MB): {counts}.")
        if manifest["missing_slugs"]:
            self.stderr.write(f"{len(manifest['missing_slugs'])} slug(s) are not on this machine and are not in the "
                              "backup; their sites need a new deploy after a restore.")
