"""Routes belong to a site by its uuid, an address to one site at a time, and a deleted site's
names stop routing before the delete returns (issue 8, items 9 and 10). No edge runs here: the
running edge's side is faked at our interface (EdgeNginx.sync); the real one is attacked in
tests/security/test_deleted_site_names.py."""
from __future__ import annotations

import pytest

from accounts.services import create_organization
from hosting.models import Host, Instance
from proxy import services as proxy
from proxy.edge import EdgeNginx, EdgeUnreachable
from proxy.models import Route, Upstream, VerificationToken
from proxy.validation import InvalidRouteValue
from sites import tasks
from sites.pipeline import routes
from sites.domains import add_domain
from sites.models import Site
from sites.services import create_site, delete_site

pytestmark = pytest.mark.django_db

A, B = "a" * 32, "b" * 32


@pytest.fixture(autouse=True)
def edge_dir(settings, tmp_path):
    settings.EDGE_DIR = tmp_path / "edge"  # no edge runs there


@pytest.fixture
def events(monkeypatch):
    """What reached the edge and the purge tasks, in order."""
    seen: list[tuple] = []
    monkeypatch.setattr(EdgeNginx, "sync", lambda self, keys: seen.append(("edge", sorted(keys))))
    monkeypatch.setattr(tasks.purge_site_repository, "delay", lambda uuid: seen.append(("purge repository", uuid)))
    monkeypatch.setattr(tasks.purge_site_on_host, "apply_async",
                        lambda kwargs, queue: seen.append(("purge host", kwargs["site_uuid"], tuple(kwargs["instances"]))))
    return seen


def test_it_refuses_a_site_name_as_a_route_group():
    with pytest.raises(InvalidRouteValue):
        proxy.set_routes("shop", ["shop.apps.localhost"], [], "starting")


def test_it_keys_a_sites_routes_by_its_uuid():
    site = create_site(create_organization("acme", "owner@example.com"), "shop")
    routes.show_starting_page(site)
    assert list(Route.objects.values_list("hostname", "group")) == [("shop.apps.localhost", site.uuid.hex)]


def test_an_address_passes_from_one_site_to_the_next_and_the_old_route_loses_it():
    proxy.set_routes(A, ["a.example.com"], ["172.30.0.2:8080"], "live")
    proxy.set_routes(B, ["b.example.com"], ["172.30.0.2:8080"], "live")

    assert Route.objects.get(hostname="a.example.com").upstreams == []
    assert Route.objects.get(hostname="b.example.com").upstreams == ["172.30.0.2:8080"]
    assert list(Upstream.objects.values_list("address", "group")) == [("172.30.0.2:8080", B)]


def test_a_switch_replaces_the_old_address():
    proxy.set_routes(A, ["a.example.com"], ["172.30.0.2:8080"], "live")
    proxy.set_routes(A, ["a.example.com"], ["172.30.0.3:8080"], "live")
    proxy.set_routes(B, ["b.example.com"], ["172.30.0.2:8080"], "live")  # the freed address, reused

    assert Route.objects.get(hostname="a.example.com").upstreams == ["172.30.0.3:8080"]
    assert sorted(Upstream.objects.values_list("address", "group")) == [("172.30.0.2:8080", B), ("172.30.0.3:8080", A)]


def test_the_edge_is_told_after_commit_and_a_refusal_falls_back_to_a_full_apply(monkeypatch, django_capture_on_commit_callbacks):
    applied = []
    monkeypatch.setattr(EdgeNginx, "sync", lambda self, keys: (_ for _ in ()).throw(EdgeUnreachable("down")))
    monkeypatch.setattr(proxy, "apply_edge", lambda: applied.append(True))
    with django_capture_on_commit_callbacks(execute=True):
        proxy.set_routes(A, ["a.example.com"], [], "stopped")
        assert applied == []  # nothing before the commit
    assert applied == [True]


def test_deleting_a_site_unroutes_it_before_returning_then_purges_by_uuid(events, django_capture_on_commit_callbacks):
    org = create_organization("acme", "owner@example.com")
    site = create_site(org, "shop")
    host = Host.objects.create(name="h1", service_address="127.0.0.1")
    instance = Instance.objects.create(host=host, name=f"site-shop-v1-d{site.deployments.create(trigger='push').pk}",
                                       site_label="shop", release_label="v1", container_address="172.30.0.9",
                                       state=Instance.State.RUNNING)
    Instance.objects.create(host=host, name="site-shop-v1-d999999", site_label="shop", release_label="v1")  # not its own
    routes.route_live(site, instance)
    pending = add_domain(site, "www.example.com")
    group = site.uuid.hex

    with django_capture_on_commit_callbacks(execute=True):
        delete_site(Site.objects.get(pk=site.pk))

    assert not Route.objects.exists() and not Upstream.objects.exists() and not VerificationToken.objects.exists()
    assert events[0] == ("edge", sorted(["shop.apps.localhost"]))  # the routes first ...
    assert ("edge", [f"verify:{pending.hostname}"]) in events
    assert events[-2:] == [("purge repository", group), ("purge host", group, (instance.name,))]  # ... then the purge


def test_a_starting_instance_takes_its_address_from_a_stale_route_before_it_answers(events, django_capture_on_commit_callbacks):
    proxy.set_routes(A, ["a.example.com"], ["172.30.0.2:8080"], "live")  # A's container died; its route stayed
    proxy.set_routes(B, ["b.example.com"], ["172.30.0.7:8080"], "live")

    with django_capture_on_commit_callbacks(execute=True):
        proxy.claim_upstreams(B, ["172.30.0.2:8080"])  # B's new container got A's old address

    assert Route.objects.get(hostname="a.example.com").upstreams == []
    assert Route.objects.get(hostname="b.example.com").upstreams == ["172.30.0.7:8080"]  # switches later
    assert sorted(Upstream.objects.values_list("address", "group")) == [("172.30.0.2:8080", B), ("172.30.0.7:8080", B)]
    assert events == [("edge", ["a.example.com"])]
