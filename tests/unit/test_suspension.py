"""Operators suspend and unsuspend organizations; suspension stops what runs and survives healing."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.services import create_organization
from hosting.models import Host, Instance
from proxy.models import Route
from proxy import services as proxy
from sites import healing
from sites.config_crypto import encrypt
from sites.pipeline.machine import create_release
from sites.models import Deployment, Site, Slug
from sites.services import create_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_site():
    """acme's site `shop`, live on an instance of host h1."""
    host = Host.objects.create(name="h1", cpus=4, memory_mb=16000, last_heartbeat=timezone.now())
    org = create_organization("acme", "owner@example.com")
    site = create_site(org, "shop")
    slug = Slug.objects.create(site=site, sha256="a" * 64, size_bytes=1, runtime="static", source="x")
    release = create_release(site, slug, encrypt("{}"), "Deploy")
    instance = Instance.objects.create(host=host, name="site-shop-v1-d1", site_label="shop", release_label="v1",
                                       memory_mb=128, cpu_millicores=100, state=Instance.State.RUNNING,
                                       container_address="10.213.0.9")
    Site.objects.filter(pk=site.pk).update(current_release=release, current_instance=instance)
    proxy.set_routes(site.route_group, ["shop.apps.localhost"], ["10.213.0.9:5000"], "live")
    return org, Site.objects.get(pk=site.pk), instance


def test_suspend_needs_a_reason_and_a_known_organization(live_site):
    with pytest.raises(CommandError):
        call_command("suspend", "acme", "--reason", "  ")
    with pytest.raises(CommandError, match="no organization named 'nope'"):
        call_command("suspend", "nope", "--reason", "x")
    with pytest.raises(CommandError, match="not suspended"):
        call_command("unsuspend", "acme")


def test_suspending_shows_the_page_and_stops_the_containers(live_site, django_capture_on_commit_callbacks):
    org, site, instance = live_site
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("suspend", "acme", "--reason", "abuse report 12")
    org.refresh_from_db()
    assert org.suspended and org.suspended_reason == "abuse report 12"
    assert Route.objects.get(hostname="shop.apps.localhost").status == "suspended"
    site.refresh_from_db()
    assert site.current_instance is None and site.desired_state == Site.DesiredState.RUNNING
    assert callbacks  # the stop of the instance's container is sent on commit


def test_healing_does_not_bring_a_suspended_site_back(live_site):
    org, site, instance = live_site
    Organization = type(org)
    # Suspended while its container still ran (a stop still queued): reconcile reports it moved, or lost.
    Organization.objects.filter(pk=org.pk).update(suspended=True)
    proxy.set_status(site.route_group, "suspended")
    healing.follow_moved_instance(Instance, instance=instance)
    healing.replace_lost_instance(Instance, instance=instance)
    assert Route.objects.get(hostname="shop.apps.localhost").status == "suspended"
    assert not Deployment.objects.exists()


def test_unsuspending_starts_the_sites_that_were_running(live_site):
    org, site, instance = live_site
    call_command("suspend", "acme", "--reason", "unpaid")
    call_command("unsuspend", "acme")
    org.refresh_from_db()
    assert not org.suspended and org.suspended_reason == "" and org.suspended_at is None
    (deployment,) = Deployment.objects.all()
    assert deployment.trigger == Deployment.Trigger.START and deployment.release == site.current_release
    assert Route.objects.get(hostname="shop.apps.localhost").status == "starting"
