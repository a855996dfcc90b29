"""Logs reach the container's own host: a site whose instance runs on a harness host (its own Docker
daemon in its own network namespace, its own address and agent; tests/integration/support/hosts.py)
shows its container's output through the API (tail and follow), the portal's logs page and the
staff site page, all read through that host's log relay; with its agent killed they say the logs
are unavailable, naming the host. The relay itself, on its real address, reads only the instance
a fresh platform-signed token names.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
from django.conf import settings
from django.core import signing
from django.test import Client

from accounts.services import get_or_create_user
from hosting import image_catalog
from hosting.log_access import DOCKER_API_VERSION, SALT, TOKEN_HEADER, TOKEN_SECONDS, grant
from sites.models import Site
from sites.runtime_logs import REPORT_TIMEOUT_SECONDS
from tests.integration.support.deploying import api, served
from tests.integration.support.hosts import DockerHost, running_hosts
from tests.integration.support.processes import wait_for
from tests.integration.test_fleet_hosts import deploy_on

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def log_host(platform, tmp_path_factory):
    """One harness host whose agent serves its relay on the port the platform's web server asks on."""
    with running_hosts(1, "lh", platform, tmp_path_factory.mktemp("loghost")) as [host]:
        yield host


def printed(platform, site: Site) -> str:
    """A request the site's container answers (nginx's 404), so that it prints a line naming it."""
    marker = f"marker-{uuid.uuid4().hex}"
    assert served(platform, site.name, f"/{marker}").status_code == 404
    return marker


def api_lines(platform, customer, site: Site) -> requests.Response:
    return api(platform, customer, "GET", f"sites/{site.name}/logs/", params={"lines": 50})


def portal_session(email: str) -> dict[str, str]:
    """A signed-in portal session in the database the real web server reads."""
    client = Client()
    client.force_login(get_or_create_user(email))
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def relay_read(host: DockerHost, container: str, token: str | None, what: str = "logs?stdout=1&tail=5",
               method: str = "GET") -> int:
    headers = {TOKEN_HEADER: token} if token is not None else {}
    url = f"http://{host.address}:{settings.LOG_RELAY_PORT}/v{DOCKER_API_VERSION}/containers/{container}/{what}"
    return requests.request(method, url, headers=headers, timeout=10).status_code


def test_it_reads_only_the_instance_a_fresh_platform_token_names_on_the_hosts_real_relay(
        deploy_env, log_host, monkeypatch):
    [site] = deploy_on(deploy_env, log_host, 1, monkeypatch)
    instance = site.current_instance.name
    image = image_catalog.current_tags(["static"])["static"]
    bystander = f"bystander-{uuid.uuid4().hex[:6]}"  # on the same daemon, but no site instance
    log_host.docker("run", "-d", "--name", bystander, "--entrypoint", "sleep", image, "600")

    assert relay_read(log_host, instance, grant(log_host.name, instance)) == 200
    assert relay_read(log_host, instance, grant(log_host.name, instance), "json") == 200
    # Another container with this instance's token, or with a platform-signed token of its own.
    assert relay_read(log_host, bystander, grant(log_host.name, instance)) == 403
    assert relay_read(log_host, bystander, grant(log_host.name, bystander)) == 403
    # A token for another host, none, one signed with another key, one signed too long ago.
    assert relay_read(log_host, instance, grant("platform-test", instance)) == 403
    assert relay_read(log_host, instance, None) == 403
    forged = signing.dumps({"h": log_host.name, "c": instance}, key="not the platform's key", salt=SALT)
    assert relay_read(log_host, instance, forged) == 403
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() - TOKEN_SECONDS - 5))
    expired = grant(log_host.name, instance)
    monkeypatch.undo()
    assert relay_read(log_host, instance, expired) == 403
    # Reads only: a write with a good token is refused too, and the instance still runs.
    assert relay_read(log_host, instance, grant(log_host.name, instance), "stop", method="POST") == 403
    assert log_host.docker("inspect", "-f", "{{.State.Running}}", instance).stdout.strip() == "true"


def test_it_shows_the_containers_output_from_its_own_host_and_says_when_that_hosts_agent_is_gone(
        deploy_env, log_host, monkeypatch, admin_client, engine):
    platform, customers, _ = deploy_env
    [site] = deploy_on(deploy_env, log_host, 1, monkeypatch)
    instance = site.current_instance
    assert instance.host.name == log_host.name
    assert instance.name in log_host.docker("ps", "--format", "{{.Names}}").stdout.split()
    assert instance.name not in {c.name for c in engine.list_site_containers(site.name)}  # not the shared daemon

    # The API's tail, by the web server (no Docker socket), through the host's relay.
    marker = printed(platform, site)

    def tail_shows(text: str) -> bool:
        tail = api_lines(platform, customers["owner"], site)
        assert tail.status_code == 200, tail.text
        return any(text in line for line in tail.json()["lines"])
    wait_for(lambda: tail_shows(marker), 30, "the API's tail to show the container's line")
    # Another organization's customer does not learn the site exists.
    assert api_lines(platform, customers["outsider"], site).status_code == 404

    # The API's follow: the lines so far, then a line printed while it is open.
    with requests.get(f"{platform.portal}/api/v1/sites/{site.name}/logs/", params={"lines": 50, "follow": 1},
                      headers=customers["owner"].headers(), stream=True, timeout=30) as follow:
        assert follow.status_code == 200
        lines = follow.iter_lines(decode_unicode=True)
        assert any(marker in line for line in lines)
        later = printed(platform, site)
        assert any(later in line for line in lines)

    # The portal's logs page, rendered by the real web server, and the staff site page.
    page = requests.get(f"{platform.portal}/sites/{site.name}/logs/", cookies=portal_session(customers["owner"].email),
                        timeout=30)
    assert page.status_code == 200 and later in page.text and "Logs unavailable" not in page.text
    staff = admin_client.get(f"/admin/sites/site/{site.pk}/change/").content.decode()
    assert 'id="runtime-log"' in staff and later in staff

    # The host stops answering at all (a partition, a machine without power): reads give up in seconds.
    drop = ["INPUT", "-p", "tcp", "--dport", str(settings.LOG_RELAY_PORT), "-j", "DROP"]
    subprocess.run([*log_host.enter(), "iptables", "-I", *drop], check=True, timeout=30)
    try:
        started = time.monotonic()
        assert_logs_unavailable(platform, customers["owner"], site, log_host.name, admin_client)
        silent = time.monotonic() - started
    finally:
        subprocess.run([*log_host.enter(), "iptables", "-D", *drop], check=True, timeout=30)
    assert tail_shows(later)  # and back when it answers again
    # The host's agent is killed; its containers keep serving, but nobody can read their logs.
    os.kill(log_host.agent.popen.pid, signal.SIGKILL)
    log_host.agent.popen.wait(10)
    assert served(platform, site.name).text == "v1\n"
    started = time.monotonic()
    assert_logs_unavailable(platform, customers["owner"], site, log_host.name, admin_client)
    print(f"\nthe four reads said the logs are unavailable in {silent:.1f} s with the host silent, "
          f"{time.monotonic() - started:.1f} s with its agent killed")
    # Each read waits at most REPORT_TIMEOUT_SECONDS for a silent host; four of them, and some slack.
    assert silent < 4 * REPORT_TIMEOUT_SECONDS + 10


def assert_logs_unavailable(platform, customer, site: Site, host_name: str, admin_client) -> None:
    """The API (tail and follow) answers 503 and the portal's and the staff's pages say why, naming the host."""
    tail = api_lines(platform, customer, site)
    assert tail.status_code == 503 and f"host {host_name}" in tail.json()["detail"], tail.text
    followed = api(platform, customer, "GET", f"sites/{site.name}/logs/", params={"follow": 1})
    assert followed.status_code == 503 and f"host {host_name}" in followed.json()["detail"], followed.text
    page = requests.get(f"{platform.portal}/sites/{site.name}/logs/", cookies=portal_session(customer.email), timeout=30)
    assert page.status_code == 200 and "Logs unavailable" in page.text and f"host {host_name}" in page.text
    staff = admin_client.get(f"/admin/sites/site/{site.pk}/change/").content.decode()
    assert 'id="container-note"' in staff and f"host {host_name}" in staff and "agent" in staff
