from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from hosting.cordon import find_host
from sites.drain import drain, wait_until_empty


class Command(BaseCommand):
    help = ("Drain a host: cordon it and move every site off it with the same switch as a deploy "
            "(no failed requests). Sites no other host has room for stay, serving, and are listed.")

    def add_arguments(self, parser):
        parser.add_argument("host", help="The host's name.")
        parser.add_argument("--reason", default="", help="Why (shown on the host in the staff site).")
        parser.add_argument("--wait", action="store_true", help="Wait until no instance runs on the host.")
        parser.add_argument("--timeout", type=float, default=600, help="Seconds --wait waits at most (600).")

    def handle(self, *args, host, reason, wait, timeout, **options):
        try:
            found = find_host(host)
            report = drain(found, reason=reason)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(f"{found.name} is cordoned; {len(report.moving)} site(s) moving off it.")
        for site, to in sorted(report.moving.items()):
            self.stdout.write(f"moving {site} to {to}")
        for site in sorted(report.under_way):
            self.stdout.write(f"{site}: a deployment under way already takes it elsewhere")
        for site, why in sorted(report.left.items()):
            self.stderr.write(f"left {site} on {found.name}: {why}")
        if report.left:  # never empty while they stay: waiting would only time out
            raise CommandError(f"{len(report.left)} site(s) could not move and stay on {found.name}, serving; "
                               "drain again when another host has room.")
        if wait:
            left = wait_until_empty(found, timeout)
            if left:
                raise CommandError(f"{found.name} still runs {left} instance(s) after {timeout:.0f} s; "
                                   "see the sites' deployments, then drain again.")
            self.stdout.write(f"{found.name} is drained: no instance runs there.")
