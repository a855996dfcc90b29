from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from hosting.cordon import find_host, uncordon


class Command(BaseCommand):
    help = "Uncordon a host: placement may give it work again."
    change = staticmethod(uncordon)  # manage.py undrain calls its own service (audited as an undrain)

    def add_arguments(self, parser):
        parser.add_argument("host", help="The host's name.")

    def handle(self, *args, host, **options):
        try:
            found = find_host(host)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        changed = self.change(found)
        self.stdout.write(f"{found.name} gets work again." if changed else f"{found.name} was not cordoned.")
