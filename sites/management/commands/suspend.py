from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from sites.services import suspend_organization


class Command(BaseCommand):
    help = "Suspend an organization: its sites show the suspended page, their containers stop, nothing of it can change."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="The organization's slug.")
        parser.add_argument("--reason", required=True, help="Why; shown to the organization's members when they are refused.")

    def handle(self, *args, organization, reason, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"There is no organization named {organization!r}.")
        try:
            suspend_organization(org, reason)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(f"Suspended {org.slug} ({org.sites.count()} site(s)): {reason.strip()}")
