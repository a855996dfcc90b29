from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from sites.services import unsuspend_organization


class Command(BaseCommand):
    help = "End an organization's suspension: sites that were running start again."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="The organization's slug.")

    def handle(self, *args, organization, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"There is no organization named {organization!r}.")
        if not org.suspended:
            raise CommandError(f"{org.slug} is not suspended.")
        unsuspend_organization(org)
        self.stdout.write(f"Unsuspended {org.slug}; its running sites are starting again.")
