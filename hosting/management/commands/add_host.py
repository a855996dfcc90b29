from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hosting.host_tokens import HostJoinError, add_host


class Command(BaseCommand):
    help = "Add a host to the fleet: create it and its agent token, and print the command the host runs."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Host name, a DNS label such as host-2.")
        parser.add_argument("--address", required=True, help="IP address the edge reaches the host's containers on.")
        parser.add_argument("--control-plane-url", default=settings.CONTROL_PLANE_URL,
                            help="This web server's URL as the new host reaches it (default: CONTROL_PLANE_URL).")
        parser.add_argument("--rotate-token", action="store_true",
                            help="The host exists: give it a new token (the old one stops working).")

    def handle(self, *args, name, address, control_plane_url, rotate_token, **options):
        try:
            joined = add_host(name, address, control_plane_url or "", rotate_token=rotate_token)
        except HostJoinError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Host {joined.host.name} added; it is not alive until its agent registers.\n"
                          "Run this on the new host (the token is shown only this once):\n")
        self.stdout.write(joined.command)
        if joined.local_only:
            self.stderr.write(f"Note: {', '.join(joined.local_only)} name this machine only (loopback, a unix "
                              "socket or a file): give the new host addresses it reaches instead (README: Add a second host).")
