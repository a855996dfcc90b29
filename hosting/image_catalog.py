"""Which runtime images each host has and when they were made, in hosting.RuntimeImage for the
staff site's catalog: the agent records them when it starts (`manage.py build_images` runs before
the database is up, so it records nothing) and after each build staff ask for (tasks.build_images).

Images are only ever built from the recipes (hosting.images); nothing is pulled from a registry.
"""
from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hosting.engine import ContainerEngine
from hosting.images import BuildReport, Progress, build_images, os_image_recipe, runtime_image_recipe
from hosting.models import Host, RuntimeImage
from hosting.runtimes import CATALOG

OS = "os"


def current_tags(runtimes: list[str] | None = None) -> dict[str, str]:
    """{"os" or runtime name: the tag its recipe gives now}."""
    os_tag = os_image_recipe().tag
    tags = {OS: os_tag}
    for name in runtimes or list(CATALOG):
        tags[name] = runtime_image_recipe(CATALOG[name], os_tag).tag
    return tags


def build_and_record(host_name: str, engine: ContainerEngine, progress: Progress,
                     runtimes: list[str] | None = None) -> BuildReport:
    """Build what is missing on this host (hosting.images.build_images), then record every image of
    the catalog it now has, with Docker's creation time, so the catalog shows what the host holds."""
    report = build_images(engine, progress, runtimes)
    record_images(host_name, engine, current_tags(runtimes))
    return report


def _parse_created(created: str) -> datetime.datetime | None:
    # Docker gives nanoseconds ("2026-11-28T12:00:00.123456789Z"); Python parses microseconds.
    if not created:
        return None
    head, dot, rest = created.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        created = f"{head}.{digits[:6]}{rest[len(digits):]}"
    parsed = parse_datetime(created.replace("Z", "+00:00"))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.timezone.utc)
    return parsed


def record_images(host_name: str, engine: ContainerEngine, tags: dict[str, str]) -> int:
    """Upsert a RuntimeImage for each of `tags` present on the host; returns how many."""
    host = Host.objects.filter(name=host_name).first()
    if host is None:  # a build before the agent registered the host: nothing to attach it to
        return 0
    now = timezone.now()
    rows = []
    for runtime, tag in tags.items():
        created = engine.image_created(tag)
        if created is not None:
            rows.append(RuntimeImage(host=host, runtime=runtime, tag=tag, created_at=_parse_created(created),
                                     recorded_at=now))
    RuntimeImage.objects.bulk_create(rows, update_conflicts=True, unique_fields=["host", "tag"],
                                     update_fields=["runtime", "created_at", "recorded_at"])
    return len(rows)

