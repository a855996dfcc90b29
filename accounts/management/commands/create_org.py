from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Plan
from accounts.services import create_organization


class Command(BaseCommand):
    help = "Create an organization with an owner (the user is created when needed)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True, help="The owner's email address.")
        parser.add_argument("--name", default="")
        parser.add_argument("--plan", help="Plan name (default: the default plan).")

    def handle(self, *args, slug, owner, name, plan=None, **options):
        try:
            chosen = Plan.objects.get(name=plan) if plan else None
        except Plan.DoesNotExist:
            raise CommandError(f"There is no plan named {plan!r}.")
        try:
            org = create_organization(slug, owner, name=name, plan=chosen)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(f"Created organization {org.slug} (plan {org.plan.name}) owned by {owner}.")
