from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from hosting.cordon import cordon, find_host


class Command(BaseCommand):
    help = "Cordon a host: placement gives it no new work; what runs there keeps running."

    def add_arguments(self, parser):
        parser.add_argument("host", help="The host's name.")
        parser.add_argument("--reason", default="", help="Why (shown on the host in the staff site).")

    def handle(self, *args, host, reason, **options):
        try:
            found = find_host(host)
            changed = cordon(found, reason)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        state = "Cordoned" if changed else "Already cordoned since"
        self.stdout.write(f"{state} {found.name} ({found.cordoned_at:%Y-%m-%d %H:%M:%S} UTC): no new work goes there.")
