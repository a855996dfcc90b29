from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import revoke_token_by_prefix


class Command(BaseCommand):
    help = "Revoke one API token by its prefix (the first 12 characters, as `GET /api/v1/tokens/` lists them)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")
        parser.add_argument("--user", default=None, help="The owner's email, when several tokens share the prefix.")

    def handle(self, *args, prefix, user=None, **options):
        try:
            token = revoke_token_by_prefix(prefix, email=user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(f"Revoked {token.prefix}… of {token.user.email}; it no longer authenticates (API and git).")
