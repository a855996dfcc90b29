"""Attack: a local user re-routes a hostname through the edge's control socket.

nginx creates its unix sockets 0666, so the socket alone admits everyone; its directory admits only
root and the platform's group. A local unprivileged user (nobody) cannot connect, so cannot change a
route; the platform user (the web server and control worker run as it) can.
"""
from __future__ import annotations

import grp
import os
import stat
import uuid

import pytest

from tests.security.local_user import NOBODY, UNIX_HTTP, run_as

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_lets_no_local_user_but_the_platform_change_a_route(platform):
    from django.conf import settings

    from proxy import services
    from proxy.edge import EdgeNginx

    edge = EdgeNginx.from_settings()
    socket_path = str(edge.control_socket)
    group = uuid.uuid4().hex  # a site's route group is its uuid
    victim = f"victim-{group[:6]}.apps.localhost"
    services.set_routes(group, [victim], [], "stopped")
    before = platform.edge_get(victim)
    assert before.status_code != 404, "the victim's route is live"

    # The attacker points the victim's name at an address of its own, and tries to delete it.
    attack = run_as(*NOBODY, UNIX_HTTP, socket_path, "PUT", "/routes", f"{victim} live - evil 127.0.0.1:9")
    assert attack == {"connected": False, "error": "PermissionError"}
    attack = run_as(*NOBODY, UNIX_HTTP, socket_path, "DELETE", "/routes", victim)
    assert attack["connected"] is False
    after = platform.edge_get(victim)
    assert (after.status_code, after.text) == (before.status_code, before.text)

    # The gate is the directory: root and the platform's group only, nobody else may enter.
    gate = os.stat(edge.control_dir)
    assert (gate.st_uid, gate.st_gid) == (0, grp.getgrnam(settings.PLATFORM_USER).gr_gid)
    assert stat.S_IMODE(gate.st_mode) == 0o750

    # The platform user, as the web server and the control worker run, changes a route.
    own = f"own-{uuid.uuid4().hex[:6]}.apps.localhost"
    assert platform.edge_get(own).status_code == 404
    change = run_as(settings.PLATFORM_USER, settings.PLATFORM_USER, UNIX_HTTP, socket_path, "PUT", "/routes",
                    f"{own} stopped - own{uuid.uuid4().hex[:6]}")
    assert (change["connected"], change["status"]) == (True, 200)
    assert platform.edge_get(own).text == before.text  # the stopped page
    run_as(settings.PLATFORM_USER, settings.PLATFORM_USER, UNIX_HTTP, socket_path, "DELETE", "/routes", own)
    assert platform.edge_get(own).status_code == 404
    services.remove_routes(group)
