"""Slugs kept per site, and writable paths that must go together."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.services import create_organization
from core.errors import CustomerError
from sites.pipeline.machine import create_release
from sites.models import Site, Slug
from sites.pipeline.release import merged_writable_paths
from sites.services import create_site, rollback
from sites.slugs import KEEP_RELEASES, check_rollback, slugs_to_forget


@pytest.fixture
def site(db):
    return create_site(create_organization("acme", "owner@example.com"), "shop")


def _deploy(site: Site, number: int):
    slug = Slug.objects.create(site=site, sha256=f"{number:064x}", size_bytes=1, runtime="static", source="x")
    Slug.objects.filter(pk=slug.pk).update(created_at=timezone.now() - timedelta(hours=2))
    return create_release(site, slug, "cfg", f"Deploy {number}")


def test_it_forgets_the_slugs_of_all_but_the_last_releases(site):
    releases = [_deploy(site, number) for number in range(KEEP_RELEASES + 3)]
    Site.objects.filter(pk=site.pk).update(current_release=releases[-1])
    site.refresh_from_db()

    assert slugs_to_forget(site) == [f"{number:064x}" for number in range(3)]
    with pytest.raises(ValidationError, match="too old to roll back to"):
        rollback(site, 1)
    check_rollback(releases[3])  # the oldest kept one


def test_it_keeps_the_running_slug_and_slugs_shared_with_kept_releases(site):
    first = _deploy(site, 0)
    for number in range(1, KEEP_RELEASES + 2):
        _deploy(site, number)
    # A config release of v1's slug is among the last ones: v1's slug stays.
    create_release(site, first.slug, "cfg", "Config")
    Site.objects.filter(pk=site.pk).update(current_release=first)
    site.refresh_from_db()

    forgotten = slugs_to_forget(site)
    assert first.slug.sha256 not in forgotten and len(forgotten) == 2


def test_it_keeps_a_slug_whose_release_is_still_being_made(site):
    releases = [_deploy(site, number) for number in range(KEEP_RELEASES + 1)]
    Site.objects.filter(pk=site.pk).update(current_release=releases[-1])
    site.refresh_from_db()
    building = Slug.objects.create(site=site, sha256="f" * 64, size_bytes=1, runtime="static", source="x")
    Slug.objects.filter(pk=building.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert building.sha256 not in slugs_to_forget(site)
    assert slugs_to_forget(site) == [f"{0:064x}"]


def test_it_keeps_every_slug_of_the_last_hour(site):
    releases = [_deploy(site, number) for number in range(KEEP_RELEASES + 2)]
    Slug.objects.filter(pk=releases[0].slug_id).update(created_at=timezone.now())
    assert slugs_to_forget(site) == [f"{1:064x}"]


def test_it_refuses_writable_paths_of_the_site_and_the_repository_that_overlap():
    assert merged_writable_paths(["uploads"], ["data"]) == ["data", "uploads"]
    with pytest.raises(CustomerError, match="overlap"):
        merged_writable_paths(["uploads"], ["uploads/img"])
