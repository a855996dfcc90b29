import time

from django.core.management.base import BaseCommand, CommandError

from hosting.engine import ContainerEngine
from core.errors import HostingError
from hosting.images import build_images
from hosting.runtimes import CATALOG


class Command(BaseCommand):
    help = "Build the OS image and the runtime images whose recipe changed (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("runtimes", nargs="*", help=f"Only these runtimes ({', '.join(sorted(CATALOG))}; default: all).")

    def handle(self, *args, runtimes=None, **options):
        unknown = sorted(set(runtimes or []) - set(CATALOG))
        if unknown:
            raise CommandError(f"Unknown runtime(s) {', '.join(unknown)}; choose from {', '.join(sorted(CATALOG))}.")
        started = time.monotonic()
        engine = ContainerEngine()
        try:
            report = build_images(engine, progress=lambda line: self.stdout.write(line), runtimes=runtimes or None)
        except HostingError as exc:
            raise CommandError(str(exc))
        finally:
            engine.close()
        for tag in report.up_to_date:
            self.stdout.write(f"up to date: {tag}")
        for tag in report.built:
            self.stdout.write(f"built: {tag}")
        self.stdout.write(f"images ready in {time.monotonic() - started:.1f} s ({len(report.built)} built)")
