import logging
import shutil

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from proxy.edge import EdgeConfigInvalid, EdgeNginx
from proxy.services import apply_edge

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Write the edge nginx config from the database and run nginx in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--check-only", action="store_true", help="Write and check the config, then exit.")
        parser.add_argument("--reload", action="store_true",
                            help="Write the config from the database and reload the running edge (its master stays).")

    def handle(self, *args, check_only=False, reload=False, **options):
        if reload:
            try:
                apply_edge()
            except EdgeConfigInvalid as exc:
                raise CommandError(f"The new edge config was refused, so the edge keeps the one it has: {exc}")
            return
        edge = EdgeNginx.from_settings()
        if shutil.which(edge.binary) is None:
            raise CommandError(f"nginx is not installed ({edge.binary} not found); run `make run` to install it.")
        try:
            edge.write_routes_file()
            path = edge.write_config()
        except (EdgeConfigInvalid, ValueError) as exc:
            if check_only or not edge.config_path.exists():
                raise CommandError(f"The edge config was refused by nginx: {exc}")
            # Start with the last config that passed the check rather than not at all.
            log.error("the edge config from the database was refused; starting with the last good one: %s", exc)
        except DatabaseError as exc:
            # Sites keep serving while the database is down: an edge restarted meanwhile starts
            # from the last config, and the last routes file with the switches made since
            # (proxy/route_journal.py).
            if check_only or not (edge.config_path.exists() and edge.routes_file.exists()):
                raise CommandError(f"The database does not answer and there is no earlier edge config: {exc}")
            log.error("the database does not answer; starting the edge with the last routes file: %s", exc)
            edge.write_routes_file_from_journal()
        else:
            if check_only:
                self.stdout.write(f"edge config ok: {path}")
                return
        edge.retire_dead_master()
        edge.exec_foreground()
