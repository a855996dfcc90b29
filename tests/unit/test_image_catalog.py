"""A host's images are recorded with Docker's build time after a build, by the agent's task; a
fake engine stands in at our own interface (hosting.engine.ContainerEngine)."""
from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from hosting import image_catalog, tasks
from hosting.images import os_image
from hosting.models import Host, RuntimeImage
from hosting.runtimes import CATALOG

pytestmark = pytest.mark.django_db
CREATED = "2026-11-20T09:15:42.123456789Z"  # Docker's nanoseconds


class FakeEngine:
    """Has the OS image already (no debootstrap here); builds runtime images instantly."""

    def __init__(self) -> None:
        self.images = {os_image(): CREATED}
        self.built: list[str] = []

    def image_exists(self, tag: str) -> bool:
        return tag in self.images

    def image_created(self, tag: str) -> str | None:
        return self.images.get(tag)

    def build_image(self, context: bytes, tag: str, on_line) -> None:
        self.built.append(tag)
        self.images[tag] = "2026-11-28T10:00:00Z"

    def import_image(self, *args, **kwargs) -> None:
        raise AssertionError("the OS image exists: nothing to import")

    def __enter__(self) -> "FakeEngine":
        return self

    def __exit__(self, *exc_info) -> None:
        pass


def test_it_records_each_image_a_build_leaves_on_the_host_with_dockers_build_time(monkeypatch):
    host = Host.objects.create(name="h1", last_heartbeat=timezone.now())
    engine = FakeEngine()
    monkeypatch.setattr(tasks, "ContainerEngine", lambda: engine)

    result = tasks.build_images("h1")

    tags = image_catalog.current_tags()
    assert sorted(result["built"]) == sorted(tags[name] for name in CATALOG) == sorted(engine.built)
    recorded = {image.runtime: image for image in RuntimeImage.objects.filter(host=host)}
    assert {name: image.tag for name, image in recorded.items()} == tags
    assert recorded["os"].created_at == datetime.datetime(2026, 11, 20, 9, 15, 42, 123456, tzinfo=datetime.timezone.utc)
    assert recorded["php"].created_at == datetime.datetime(2026, 11, 28, 10, 0, tzinfo=datetime.timezone.utc)


def test_a_second_record_updates_the_row_instead_of_adding_one():
    host = Host.objects.create(name="h1", last_heartbeat=timezone.now())
    engine = FakeEngine()
    tags = {"os": os_image()}

    assert image_catalog.record_images("h1", engine, tags) == 1
    engine.images[os_image()] = "2026-11-21T00:00:00Z"  # rebuilt under the same tag
    image_catalog.record_images("h1", engine, tags)

    image = RuntimeImage.objects.get(host=host)
    assert image.created_at == datetime.datetime(2026, 11, 21, tzinfo=datetime.timezone.utc)


def test_it_records_nothing_for_a_host_not_registered_or_an_image_it_lacks():
    Host.objects.create(name="h1", last_heartbeat=timezone.now())
    assert image_catalog.record_images("nobody", FakeEngine(), {"os": os_image()}) == 0
    assert image_catalog.record_images("h1", FakeEngine(), {"php": "hosting/runtime-php:missing"}) == 0
    assert not RuntimeImage.objects.exists()
