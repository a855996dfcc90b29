"""What a site says about itself: its URLs, its status as the API shows it, the names it is routed by."""
from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.services import create_organization
from sites.models import Deployment, Domain, Site
from sites.services import create_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def site() -> Site:
    return create_site(create_organization("acme", "owner@example.com"), "shop")


def test_its_urls_follow_the_settings(site, settings):
    settings.PLATFORM_DOMAIN, settings.PROXY_HTTP_PORT, settings.PORTAL_URL = "example.net", 80, "https://portal.test/"
    assert (site.default_hostname, site.url, site.git_url) == (
        "shop.example.net", "http://shop.example.net/", "https://portal.test/git/shop.git")


def test_its_status_goes_from_not_deployed_to_deploying_to_stopped_and_suspended(site):
    assert site.status == "not deployed"
    deployment = Deployment.objects.create(site=site, trigger="push")
    assert Site.objects.get(pk=site.pk).status == "deploying"
    Deployment.objects.filter(pk=deployment.pk).update(state="failed")
    assert Site.objects.get(pk=site.pk).status == "not deployed"
    Site.objects.filter(pk=site.pk).update(desired_state="stopped")
    assert Site.objects.get(pk=site.pk).status == "stopped"
    site.organization.suspended = True
    site.organization.save()
    assert Site.objects.select_related("organization").get(pk=site.pk).status == "suspended"


def test_it_is_routed_by_its_default_and_verified_domains_only(site):
    Domain.objects.create(site=site, hostname="pending.example.com", verification_token="t")
    Domain.objects.create(site=site, hostname="www.example.com", verification_token="t", verified_at=timezone.now())
    assert sorted(site.routed_hostnames()) == ["shop.apps.localhost", "www.example.com"]
    assert Domain.objects.get(hostname="pending.example.com").verification["http_body"] == "t"
    assert Domain.objects.get(hostname="www.example.com").verification is None


def test_staff_see_its_urls_and_status_in_the_admin(site, admin_client):
    page = admin_client.get(f"/admin/sites/site/{site.pk}/change/").content.decode()
    assert "http://shop.apps.localhost:8080/" in page and "/git/shop.git" in page and "not deployed" in page
