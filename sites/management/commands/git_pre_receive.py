import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from sites.hooks import pre_receive


class Command(BaseCommand):
    help = "git's pre-receive hook for site repositories (run by git, not by people)."

    def handle(self, *args, **options):
        lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
        repository = Path(os.environ.get("GIT_DIR", ".")).resolve()
        site_uuid = os.environ.get("HOSTING_SITE_UUID", "")
        # Only the repository the view chose: its directory name is the site's uuid.
        if repository.name != f"{site_uuid}.git":
            sys.stdout.write("This repository is not the site's.\n")
            sys.exit(1)
        sys.exit(pre_receive(site_uuid, lines, sys.stdout, repository))
