from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import issue_token


class Command(BaseCommand):
    help = "Issue a new API token for a user; it is printed once and stored only hashed."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="A label to tell the token apart.")
        parser.add_argument("--expires-days", type=int, default=None, help="Valid for this many days (default: until revoked).")

    def handle(self, *args, email, name, expires_days=None, **options):
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"There is no user with email {email}.")
        try:
            self.stdout.write(issue_token(user, name=name, expires_days=expires_days))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
