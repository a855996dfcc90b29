from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.staff import ensure_first_staff_user


class Command(BaseCommand):
    help = "Create the first staff user when there is none; print its login once."

    def handle(self, *args, **options):
        login = ensure_first_staff_user(settings.DATA_DIR / "secrets" / "staff-login.txt")
        if login.password:
            self.stdout.write(f"Created staff user {login.username!r} with password {login.password}")
            self.stdout.write(f"(also kept in {login.credentials_file}, readable by root only)")
            self.stdout.write("Log in at /login/ with that username; the staff site (/admin/) asks you to set up "
                              "two-factor authentication first.")
        else:
            self.stdout.write(f"Staff user: {login.username} (first password in {login.credentials_file})")
