"""Attack (issue 8, item 10): a deleted site's name serves someone else's content.

Rounds of delete-a-site-then-create-another, across two organizations: each round deletes a live
site and requests its name the moment the DELETE answered, then another organization creates a
site of another name (whose container may take the freed address) and a site of the same name.
A watcher requests every deleted name all along. A deleted name must answer 404 from the moment
its DELETE answered until a new site takes the name, and then only that new site's own pages;
it must never serve the deleted site's content or any other site's. Traffic is the site's own:
the new owner of a name does not inherit the deleted site's requests.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from tests.integration.support.deploying import api, push, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3
REQUESTS_BEFORE_DELETE = 20


@dataclass
class Name:
    """What a name may answer now: nothing (404) after a delete, or its new owner's marker."""

    deleted_at: float | None = None
    owner_marker: str | None = None
    owner_since: float | None = None
    owner_hits: int = 0  # requests the edge routed to the new owner (not the 404 of no route)


@dataclass
class Watcher:
    """Requests every watched name in a loop and records every answer it must not give."""

    edge_port: int
    markers: set[str]
    names: dict[str, Name] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    requests_made: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def check(self, name: str) -> requests.Response:
        with self.lock:
            state = self.names[name]
            allowed, since = state.owner_marker, state.owner_since
        started = time.monotonic()
        response = requests.get(f"http://127.0.0.1:{self.edge_port}/", headers={"Host": f"{name}.apps.localhost"},
                                timeout=10)
        body = response.text
        owned = allowed is not None and started >= since
        foreign = [m for m in self.markers if m in body and not (owned and m == allowed)]
        with self.lock:
            self.requests_made += 1
            if foreign:
                self.violations.append(f"{name} served content that is not its own ({foreign}) with {response.status_code}")
            elif not owned and not (response.status_code == 404 and "No site here" in body):
                self.violations.append(f"{name} answered {response.status_code} after its DELETE answered: {body[:80]!r}")
            elif owned and response.status_code != 404:
                state.owner_hits += 1
        return response

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                watched = [n for n, s in self.names.items() if s.deleted_at is not None]
            for name in watched:
                try:
                    self.check(name)
                except requests.RequestException as exc:
                    with self.lock:
                        self.violations.append(f"{name}: {exc!r}")
            time.sleep(0.01)


def test_a_deleted_sites_name_never_serves_again(deploy_env, tmp_path):
    from proxy.edge import EdgeNginx
    from proxy.models import Route, SiteTraffic
    from proxy.traffic import collect
    from sites.models import Site

    platform, customers, created = deploy_env
    markers: set[str] = set()
    watcher = Watcher(platform.edge_port, markers)

    def new_marker(who: str, name: str) -> str:
        marker = f"content-of-{name}-{who}-{uuid.uuid4().hex[:8]}"
        markers.add(marker)
        return marker

    def create_and_deploy(who: str, name: str, marker: str | None = None) -> str:
        marker = marker or new_marker(who, name)
        response = api(platform, customers[who], "POST", "sites/", json={"name": name})
        assert response.status_code == 201, response.text
        created.append(name)
        push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": f"{marker}\n"}), name, customer=who)
        return marker

    def delete(who: str, name: str) -> str:
        group = Site.objects.get(name=name).uuid.hex
        response = api(platform, customers[who], "DELETE", f"sites/{name}/")
        assert response.status_code == 204, response.text
        with watcher.lock:
            watcher.names.setdefault(name, Name())
            watcher.names[name].deleted_at = time.monotonic()
            watcher.names[name].owner_marker = None
        return group

    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    deleted_groups, counted_groups, previous_neighbour = [], [], None
    try:
        for number in range(ROUNDS):
            first, second = ("owner", "outsider") if number % 2 == 0 else ("outsider", "owner")
            name = f"gone{number}-{uuid.uuid4().hex[:6]}"
            marker = create_and_deploy(first, name)
            for _ in range(REQUESTS_BEFORE_DELETE):
                response = platform.edge_get(f"{name}.apps.localhost")
                assert response.status_code == 200 and response.text == f"{marker}\n"

            deleted_groups.append(delete(first, name))
            counted_groups.append(deleted_groups[-1])
            watcher.check(name)  # right when the DELETE answered: 404
            if previous_neighbour:  # last round's neighbour goes too (the other organization's)
                deleted_groups.append(delete(*previous_neighbour))
                watcher.check(previous_neighbour[1])

            # Another organization's new site, another name: it may start on the freed address.
            neighbour = f"next{number}-{uuid.uuid4().hex[:6]}"
            create_and_deploy(second, neighbour)
            previous_neighbour = (second, neighbour)
            watcher.check(name)

            # The same name, taken by the other organization: its own pages only, from now on.
            successor = new_marker(second, name)
            with watcher.lock:
                watcher.names[name].owner_marker, watcher.names[name].owner_since = successor, time.monotonic()
            create_and_deploy(second, name, successor)
            assert watcher.check(name).text == f"{successor}\n"
            time.sleep(1)  # the watcher keeps asking every name meanwhile
    finally:
        watcher.stop.set()
        thread.join(30)

    assert watcher.violations == [], "\n".join(watcher.violations[:20])
    assert watcher.requests_made > 5 * ROUNDS

    # Nothing of a deleted site stays at the edge, and its traffic stays its own.
    from proxy.models import Upstream

    assert not Route.objects.filter(group__in=deleted_groups).exists()
    assert not Upstream.objects.filter(group__in=deleted_groups).exists()
    log_path = EdgeNginx.from_settings().prefix / "logs" / "access.log"
    time.sleep(6)  # the edge flushes its access log every 5 s
    collect(log_path)
    for group in counted_groups:  # the deleted sites' own requests stay theirs
        counted = sum(SiteTraffic.objects.filter(group=group, resolution=60).values_list("requests", flat=True))
        assert counted >= REQUESTS_BEFORE_DELETE
    for name, state in watcher.names.items():
        if state.owner_marker is None:
            continue
        owner = "owner" if Site.objects.get(name=name).organization.slug == customers["owner"].organization else "outsider"
        traffic = api(platform, customers[owner], "GET", f"sites/{name}/traffic/?minutes=60").json()
        # Only what the edge routed to the new owner (the push's readiness check goes to the
        # container directly); the deleted site's requests must not be counted here.
        assert sum(row["requests"] for row in traffic) <= state.owner_hits, (name, traffic, state.owner_hits)


def test_a_stale_route_never_reaches_an_address_another_site_holds_now(platform):
    """The edge's own rule, for when its table missed a change: a route line of site A still names
    an address that Docker has since given to site B's container. B's route claimed the address,
    so A's name shows the starting page, never B's content."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from proxy.edge import EdgeNginx

    class Content(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"content of site B\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Content)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    edge = EdgeNginx.from_settings()
    tag = uuid.uuid4().hex[:8]
    stale, fresh = f"stale-{tag}.apps.localhost", f"fresh-{tag}.apps.localhost"
    site_a, site_b = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        # Site A had the address (its old container); the line stays in the table.
        assert edge._control("PUT", "/routes", f"{stale} live - {site_a} {address}").strip() == "1"
        assert platform.edge_get(stale).status_code == 200
        # The address now belongs to site B's container, and B's route says so.
        assert edge._control("PUT", "/routes", f"{fresh} live - {site_b} {address}").strip() == "1"

        assert platform.edge_get(fresh).text == "content of site B\n"
        leaked = platform.edge_get(stale)
        assert leaked.status_code == 503 and "content of site B" not in leaked.text
    finally:
        edge._control("DELETE", "/routes", f"{stale}\n{fresh}")
        server.shutdown()
