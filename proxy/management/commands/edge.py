from django.core.management.base import BaseCommand, CommandError

from proxy.edge import EdgeConfigInvalid, EdgeNginx


class Command(BaseCommand):
    help = "Write the edge nginx config from the database and run nginx in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--check-only", action="store_true", help="Write and check the config, then exit.")

    def handle(self, *args, check_only=False, **options):
        edge = EdgeNginx.from_settings()
        try:
            path = edge.write_config()
        except EdgeConfigInvalid as exc:
            raise CommandError(f"The edge config was refused by nginx: {exc}")
        except FileNotFoundError:
            raise CommandError(f"nginx is not installed ({edge.binary} not found); run `make run` to install it.")
        if check_only:
            self.stdout.write(f"edge config ok: {path}")
            return
        edge.exec_foreground()
