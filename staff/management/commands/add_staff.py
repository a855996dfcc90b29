from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from staff.roles import ROLES, add_staff


class Command(BaseCommand):
    help = "Make a user staff (support or superuser), creating them if needed."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=ROLES,
                            help="support: reads everything, answers tickets, restarts sites, manages members "
                                 "and tokens; superuser: everything.")

    def handle(self, *args, email, role, **options):
        try:
            user, password = add_staff(email, role)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        if password is None:
            self.stdout.write(f"{user.email} is now {role} staff (their password is unchanged).")
        else:
            self.stdout.write(f"Created {user.email} as {role} staff with the password {password}")
            self.stdout.write("It is shown only this once: hand it over privately. They log in at /login/ and the staff "
                              "site (/admin/) makes them set up two-factor first; they can change the password in "
                              "their account page or with the portal's password reset.")
