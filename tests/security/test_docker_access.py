"""Attack: the web server (or a tenant who got code running in it) drives Docker, which is root on
the host: creates a privileged container, lists every tenant's containers, reads other containers.

The web server runs as the platform user, which cannot open Docker's socket. It reads site logs
through the agent's relay (hosting.log_relay), which passes only reads of a site container's state
and logs; other local users cannot reach even that.
"""
from __future__ import annotations

import json

import pytest

from tests.integration.support.deploying import api, create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for
from tests.security.local_user import NOBODY, UNIX_HTTP, run_as

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = json.dumps({"Image": "hosting-os", "Cmd": ["id"], "HostConfig": {"Privileged": True, "Binds": ["/:/host"]}})


def test_it_keeps_docker_from_the_platform_user_but_shows_site_logs(deploy_env, tmp_path, engine):
    from django.conf import settings

    from hosting.log_relay import relay_socket

    platform, customers, _ = deploy_env
    user = settings.PLATFORM_USER
    site = create_site(deploy_env, "logged")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "logged\n"}), site)
    assert served(platform, site).text == "logged\n"
    site_container = engine.list_site_containers(site)[0].name

    # Docker's own socket: closed to the platform user.
    docker_socket = "/var/run/docker.sock"
    for method, target, body in (("GET", "/v1.41/containers/json?all=1", ""), ("POST", "/v1.41/containers/create", CREATE)):
        assert run_as(user, user, UNIX_HTTP, docker_socket, method, target, body) == {
            "connected": False, "error": "PermissionError"}

    # The relay: only reads of a site container.
    relay = str(relay_socket(platform.data_dir))
    refused = [
        ("POST", "/v1.41/containers/create", CREATE),
        ("GET", "/v1.41/containers/json?all=1", ""),
        ("GET", "/v1.41/images/json", ""),
        ("GET", "/v1.41/info", ""),
        ("POST", f"/v1.41/containers/{site_container}/exec", json.dumps({"Cmd": ["id"]})),
        ("GET", "/v1.41/containers/no-such-site-container/json", ""),
    ]
    for method, target, body in refused:
        answer = run_as(user, user, UNIX_HTTP, relay, method, target, body)
        assert (answer["connected"], answer["status"]) == (True, 403), (method, target, answer)
    assert not mounting_the_host_root(engine), "a container with the host's / was created"

    # Other local users cannot reach the relay at all.
    assert run_as(*NOBODY, UNIX_HTTP, relay, "GET", "/_ping", "") == {"connected": False, "error": "PermissionError"}

    # The site's own logs still reach its owner through the API (the web server, via the relay).
    owner = customers["owner"]
    lines = wait_for(lambda: api(platform, owner, "GET", f"sites/{site}/logs/?lines=20").json()["lines"], 30,
                     "the site's logs")
    assert lines


def mounting_the_host_root(engine) -> list[str]:
    import docker

    found = []
    for summary in engine.client.api.containers(all=True):
        try:
            binds = engine.client.api.inspect_container(summary["Id"])["HostConfig"].get("Binds") or []
        except docker.errors.NotFound:
            continue  # another test's container, gone meanwhile
        if "/:/host" in binds:
            found.append(summary["Id"])
    return found
