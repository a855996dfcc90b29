from __future__ import annotations

import pytest

from accounts.services import create_organization
from sites import git
from sites.pipeline.machine import create_release
from sites.models import Deployment, Release, Site, Slug
from sites.services import create_site, delete_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return create_site(create_organization("acme", "owner@example.com"), "shop")


def test_a_new_site_has_its_default_domain_and_a_bare_repository(site):
    assert list(site.domains.values_list("hostname", "is_default")) == [("shop.apps.localhost", True)]
    repository = git.Repository.of(site).path
    assert (repository / "HEAD").read_text().strip() == "ref: refs/heads/main"


def test_release_numbers_count_up_per_site(site):
    slug = Slug.objects.create(site=site, sha256="a" * 64, size_bytes=1, runtime="static", source="x")
    assert [create_release(site, slug, "cfg", "d").version for _ in range(3)] == [1, 2, 3]


def test_deleting_a_site_with_releases_removes_them(site):
    slug = Slug.objects.create(site=site, sha256="a" * 64, size_bytes=1, runtime="static", source="x")
    release = create_release(site, slug, "cfg", "Deploy")
    Site.objects.filter(pk=site.pk).update(current_release=release)
    Deployment.objects.create(site=site, trigger="push", release=release)

    delete_site(Site.objects.get(pk=site.pk))

    assert not Site.objects.exists() and not Release.objects.exists() and not Slug.objects.exists()
