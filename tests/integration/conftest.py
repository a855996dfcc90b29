"""Fixtures of the integration tests: real processes against the services `make test` started.

The helpers they use live in tests/integration/support/.
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from hosting.engine import ContainerEngine
from hosting.host_setup import prepare_host
from tests.integration.support.deploying import (
    Customer,
    EdgePorts,
    Platform,
    seed_plans,
)
from tests.integration.support.hosts import control_plane_addresses
from tests.integration.support.pebble import Pebble, write_test_ca
from tests.integration.support.processes import ChildProcess, database_url, wait_for
from tests.integration.support.sitelab import SiteLab


def child_database_url() -> str:
    """The URL of pytest-django's test database, for child processes."""
    return database_url()


_SHARED: dict[str, object] = {}


def once_per_run(function):
    """A session fixture set up once per test run, however many conftests re-export it.

    tests/security imports these fixtures, and pytest sets up each conftest's copy on its own: two
    platforms would fight over the same data directory, edge control socket and ports.
    """
    name = function.__name__

    @functools.wraps(function)
    def fixture(*args, **kwargs):
        if name in _SHARED:
            yield _SHARED[name]
            return
        if not inspect.isgeneratorfunction(function):
            _SHARED[name] = function(*args, **kwargs)
            yield _SHARED[name]
            return
        steps = function(*args, **kwargs)
        _SHARED[name] = next(steps)
        try:
            yield _SHARED[name]
        finally:
            del _SHARED[name]
            next(steps, None)

    return fixture


@pytest.fixture
def service_env(db) -> dict[str, str]:
    """The environment a child process needs to use the same test database and Redis as the test."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need the PostgreSQL and Redis that `make test` starts; run them with make test")
    env = dict(os.environ)
    env["DATABASE_URL"] = child_database_url()
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def start_process(tmp_path, service_env):
    """Start platform processes (`manage.py` commands, Celery workers); all are stopped after the test."""
    started: list[ChildProcess] = []

    def start(name: str, args: list[str], **extra_env: str) -> ChildProcess:
        env = {**service_env, **extra_env}
        process = ChildProcess(name, [sys.executable, *args], env, tmp_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_agent(start_process):
    """Start a real agent for a new host name; returns (host name, process)."""

    def start(prefix: str = "it") -> tuple[str, ChildProcess]:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        process = start_process(
            f"agent-{name}", ["manage.py", "agent", "--name", name, "--concurrency", "1"],
            HEARTBEAT_INTERVAL="1", HOST_DOWN_AFTER="5",
        )
        return name, process

    return start


@pytest.fixture(scope="session")
def engine():
    engine = ContainerEngine()
    prepare_host(engine)
    yield engine
    engine.close()


@pytest.fixture
def sites(engine, tmp_path, db):
    lab = SiteLab(engine, tmp_path)
    yield lab
    lab.cleanup()


@pytest.fixture(scope="session")
@once_per_run
def edge_ports() -> EdgePorts:
    from launcher.processes import free_tcp_port

    return EdgePorts(free_tcp_port(), free_tcp_port(), free_tcp_port(), free_tcp_port())


@pytest.fixture(scope="session")
@once_per_run
def pebble(edge_ports, tmp_path_factory):
    """Pebble, the ACME test server, validating HTTP-01 against the edge; every name resolves to
    127.0.0.1 through pebble-challtestsrv's DNS."""
    import json

    from launcher.processes import ManagedProcess, free_tcp_port, tcp_port_open

    work = tmp_path_factory.mktemp("pebble")
    ca = write_test_ca(work)
    dns_port, acme_port, management_port, dns_management = free_tcp_port(), free_tcp_port(), free_tcp_port(), free_tcp_port()
    config = work / "pebble.json"
    config.write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{acme_port}", "managementListenAddress": f"127.0.0.1:{management_port}",
        "certificate": str(work / "pebble.pem"), "privateKey": str(work / "pebble.key"),
        "httpPort": edge_ports.http, "tlsPort": edge_ports.https, "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}))
    dns = ManagedProcess("challtestsrv", ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns_port}", "-http01", "",
                                          "-https01", "", "-tlsalpn01", "", "-management", f"127.0.0.1:{dns_management}",
                                          "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""], work / "challtestsrv.log")
    server = ManagedProcess("pebble", ["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{dns_port}"],
                            work / "pebble.log", env={**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
    try:
        server.wait_until(lambda: tcp_port_open("127.0.0.1", acme_port), 30, "pebble to listen")
        dns.wait_until(lambda: tcp_port_open("127.0.0.1", dns_management), 30, "challtestsrv to listen")
        yield Pebble(f"https://127.0.0.1:{acme_port}/dir", f"https://127.0.0.1:{management_port}", ca,
                     f"127.0.0.1:{dns_port}", f"http://127.0.0.1:{dns_management}")
    finally:
        server.stop()
        dns.stop()


@pytest.fixture(scope="session")
@once_per_run
def platform(django_db_setup, django_db_blocker, tmp_path_factory, edge_ports, pebble):
    """Every process of the Procfile (web, worker, agent, beat, edge, edge_worker), on the test
    database, with Pebble as the ACME server; web, worker and beat as the platform user, as `make run`
    starts them (launcher.stack), in the test run's DATA_DIR made the platform's."""
    from launcher.stack import start_platform, stop_platform, wait_until_ready

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need the PostgreSQL and Redis that `make test` starts; run them with make test")
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": child_database_url(),
        "PYTHONUNBUFFERED": "1",
        "PORTAL_BIND": f"127.0.0.1:{edge_ports.portal}",
        # The harness's hosts reach the web server's /internal/v1 on their gateway address (a forwarder).
        "ALLOWED_HOSTS": ",".join(["127.0.0.1", "localhost", "[::1]", *control_plane_addresses()]),
        "PROXY_HTTP_PORT": str(edge_ports.http),
        "PROXY_HTTPS_PORT": str(edge_ports.https),
        # Its own: agents of other test runs on this machine serve theirs on 127.0.0.1 too.
        "LOG_RELAY_PORT": str(edge_ports.log_relay),
        "HOST_NAME": "platform-test",
        "WORKER_NAME": "control-platform-test",
        "HEARTBEAT_INTERVAL": "2",
        "HOST_DOWN_AFTER": "10",
        "METRICS_INTERVAL": "5",  # the browser journey sees the charts fill
        "DRAIN_SECONDS": "2",
        "START_TIMEOUT": "10",
        "ACME_DIRECTORY_URL": pebble.directory_url,
        "ACME_CA_BUNDLE": str(pebble.api_ca),
        "DOMAIN_VERIFICATION_ADDRESS": f"127.0.0.1:{edge_ports.http}",
        # One organization may hold this many streams: the starvation attack opens 100 follows and 5 pushes.
        "STREAMS_PER_ORGANIZATION": "105",
    })
    processes = start_platform(env, tmp_path_factory.mktemp("platform"))
    # Pages this process renders (the staff site through Django's client) read logs from the same agents.
    settings.LOG_RELAY_PORT = edge_ports.log_relay
    try:
        wait_until_ready(processes, edge_ports.portal, edge_ports.http)
        yield Platform(f"http://127.0.0.1:{edge_ports.portal}", edge_ports.http, Path(settings.DATA_DIR), processes,
                       edge_ports.https, env)
    finally:
        stop_platform(processes)


@pytest.fixture
def customers(transactional_db):
    """Owner, developer and viewer of one organization, and an outsider owning another."""
    from accounts.models import Plan
    from accounts.services import (
        add_member,
        create_organization,
        get_or_create_user,
        issue_token,
    )

    seed_plans(Plan)
    suffix = uuid.uuid4().hex[:6]
    org = create_organization(f"acme-{suffix}", f"owner-{suffix}@example.com")
    other = create_organization(f"globex-{suffix}", f"outsider-{suffix}@example.com")
    people = {}
    for role in ("developer", "viewer"):
        add_member(org, f"{role}-{suffix}@example.com", role)
    for key, email, slug in (("owner", f"owner-{suffix}@example.com", org.slug),
                             ("developer", f"developer-{suffix}@example.com", org.slug),
                             ("viewer", f"viewer-{suffix}@example.com", org.slug),
                             ("outsider", f"outsider-{suffix}@example.com", other.slug)):
        people[key] = Customer(email, issue_token(get_or_create_user(email)), slug)
    return people


@pytest.fixture
def deploy_env(platform, customers, engine):
    """The platform with its host registered; the sites a test creates are removed afterwards."""
    from hosting.models import Host

    wait_for(lambda: Host.objects.filter(name="platform-test").exists(), 30, "the agent's host row")
    created: list[str] = []
    yield platform, customers, created
    for name in created:
        for container in engine.list_site_containers(name):
            engine.remove(container.name)
