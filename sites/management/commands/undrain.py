from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from hosting.cordon import find_host
from sites.drain import undrain


class Command(BaseCommand):
    help = "Undrain a host: it gets new work again (sites moved off it stay where they are)."

    def add_arguments(self, parser):
        parser.add_argument("host", help="The host's name.")

    def handle(self, *args, host, **options):
        try:
            found = find_host(host)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        changed = undrain(found)
        self.stdout.write(f"{found.name} gets work again." if changed else f"{found.name} was not cordoned.")
