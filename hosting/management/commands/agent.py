from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from hosting.agent import run_agent
from hosting.fleet import SingleHostDatabase
from hosting.models import validate_host_name


class Command(BaseCommand):
    help = "Run this host's agent: register the host, heartbeat, and run its queue's tasks."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="Host name (default: HOST_NAME, else this machine's name).")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, name=None, concurrency=2, **options):
        host_name = name or settings.HOST_NAME
        try:
            validate_host_name(host_name)
        except ValidationError:
            raise CommandError(f"{host_name!r} is not a valid host name: use a DNS label such as host-1.")
        try:
            run_agent(host_name, concurrency=concurrency, loglevel=settings.LOG_LEVEL)
        except SingleHostDatabase as exc:  # raised before the agent takes any work
            raise CommandError(str(exc))
