from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from sites.plans import WHEN_IT_APPLIES, change_plan, over_quota, plan_named


class Command(BaseCommand):
    help = "Move an organization and its sites to another plan (the same service as the staff site's action)."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="The organization's slug.")
        parser.add_argument("plan", help="The plan's name (its slug, as the staff site lists plans).")

    def handle(self, *args, organization, plan, **options):
        org = Organization.objects.select_related("plan").filter(slug=organization).first()
        if org is None:
            raise CommandError(f"There is no organization named {organization!r}.")
        try:
            new_plan = plan_named(plan)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        if org.plan_id == new_plan.pk:
            self.stdout.write(f"{org.slug} is already on {new_plan.name}; nothing changed.")
            return
        previous = org.plan.name
        moved = change_plan(org, new_plan)
        self.stdout.write(f"{org.slug}: {previous} -> {new_plan.name} ({moved} site(s)). {WHEN_IT_APPLIES}"
                          f"{over_quota(org.slug, moved, new_plan)}")
