from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import issue_token


class Command(BaseCommand):
    help = "Issue a new API token for a user; it is printed once and stored only hashed."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="A label to tell the token apart.")

    def handle(self, *args, email, name, **options):
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"There is no user with email {email}.")
        self.stdout.write(issue_token(user, name=name))
