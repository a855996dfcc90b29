"""Reconcile never routes a site to an address it did not just learn for that site: after a daemon
restart every stopped instance is withdrawn from its routes before any container starts again,
since the first to start may take another's old address. Docker is faked at our interface
(ContainerEngine's methods)."""
from __future__ import annotations

import pytest

from accounts.services import create_organization
from hosting.spec import ContainerState
from hosting.models import Host, Instance
from hosting.reconcile import reconcile_host
from proxy.models import Route
from sites.pipeline import routes
from sites.models import Site
from sites.services import create_site

pytestmark = pytest.mark.django_db


def state(name: str, running: bool, address: str | None) -> ContainerState:
    return ContainerState(name=name, id=name, status="running" if running else "exited", running=running, exit_code=None,
                          oom_killed=False, labels={}, host_port=None, address=address)


class RestartedDaemon:
    """Every container stopped; they start again in the order asked, taking the given addresses."""

    def __init__(self, new_addresses: dict[str, str]) -> None:
        self.new_addresses = new_addresses
        self.routes_at_start: list[dict[str, list[str]]] = []

    def state(self, name: str) -> ContainerState:
        return state(name, False, None)

    def start_existing(self, name: str) -> ContainerState:
        self.routes_at_start.append(dict(Route.objects.values_list("hostname", "upstreams")))
        return state(name, True, self.new_addresses[name])

    def list_site_containers(self, site=None):
        return []


@pytest.fixture(autouse=True)
def edge_dir(settings, tmp_path):
    settings.EDGE_DIR = tmp_path / "edge"
    settings.SITE_CONTAINER_PORT = 8080


def live_site(org, name: str, host: Host, address: str) -> Instance:
    site = create_site(org, name)
    instance = Instance.objects.create(host=host, name=f"site-{name}-v1-d1{name}", site_label=name, release_label="v1",
                                       container_address=address, state=Instance.State.RUNNING)
    Site.objects.filter(pk=site.pk).update(current_instance=instance)
    routes.route_live(Site.objects.get(pk=site.pk), instance)
    return instance


def test_a_restarted_container_never_inherits_another_sites_route():
    host = Host.objects.create(name="h1", service_address="127.0.0.1")
    one = live_site(create_organization("acme", "a@example.com"), "one", host, "172.30.0.2")
    two = live_site(create_organization("globex", "b@example.com"), "two", host, "172.30.0.3")
    # After the restart the daemon hands the addresses out the other way round.
    daemon = RestartedDaemon({one.name: "172.30.0.3", two.name: "172.30.0.2"})

    reconcile_host(host, daemon)

    for routes in daemon.routes_at_start[:1]:  # when the first container started, nothing was routed
        assert routes == {"one.apps.localhost": [], "two.apps.localhost": []}
    final = dict(Route.objects.values_list("hostname", "upstreams"))
    assert final == {"one.apps.localhost": ["172.30.0.3:8080"], "two.apps.localhost": ["172.30.0.2:8080"]}
    assert set(Route.objects.values_list("status", flat=True)) == {"live"}
