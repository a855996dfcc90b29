"""The fleet's entry point (hosting/instances.py) and placement: what a start records, what a
failed start leaves behind (nothing), and a host with no room. Docker is faked at our own
interface (ContainerEngine's methods); the app is a real HTTP server on a loopback port."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from django.utils import timezone

from core.errors import CustomerError
from hosting import instances
from hosting.engine_errors import PortInUse
from hosting.models import Host, HostPort, Instance
from hosting.placement import NoHostAvailable, place_instance
from hosting.readiness import AppUnhealthy, HealthCheck
from hosting.spec import LABEL_FLEET, LABEL_HOST, ContainerSpec, ContainerState, ResourceLimits

pytestmark = pytest.mark.django_db

LIMITS = ResourceLimits(memory_mb=256, cpu_millicores=250, pids=64)


class App:
    """A real HTTP server on 127.0.0.1, answering `status` on every path (or per path)."""

    def __init__(self, statuses: dict[str, int] | int) -> None:
        statuses = statuses if isinstance(statuses, dict) else {"*": statuses}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(statuses.get(self.path, statuses.get("*", 404)))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeEngine:
    """Starts nothing: every container 'publishes' on the port of `app` (or on nothing)."""

    def __init__(self, app: App | None, refuse_first: bool = False) -> None:
        self.app, self.refuse_first = app, refuse_first
        self.attempted: list[int] = []
        self.started: list[ContainerSpec] = []
        self.removed: list[str] = []

    def start(self, spec: ContainerSpec) -> ContainerState:
        self.attempted.append(spec.host_port)
        if self.refuse_first and len(self.attempted) == 1:  # as Docker, when something else holds the port
            raise PortInUse(f"port {spec.host_port} is already allocated")
        self.started.append(spec)
        return ContainerState(name=spec.name, id="c1", status="running", running=True, exit_code=None,
                              oom_killed=False, labels=spec.all_labels, host_port=spec.host_port, address="172.30.0.9")

    def state(self, name: str) -> ContainerState:
        return ContainerState(name=name, id="c1", status="running", running=True, exit_code=None, oom_killed=False,
                              labels={}, host_port=None)

    def logs(self, name: str, tail: int = 100) -> str:
        return "booting\nready\n"

    def probe_output(self, name: str, command: list[str]) -> str:
        return ""

    def remove(self, name: str) -> None:
        self.removed.append(name)


@pytest.fixture
def host() -> Host:
    return Host.objects.create(name="h1", memory_mb=1024, cpus=2, last_heartbeat=timezone.now())


@pytest.fixture(autouse=True)
def short_waits(settings, monkeypatch):
    settings.SITE_PORT_RANGE = (20000, 20099)
    monkeypatch.setattr("hosting.readiness.UNHEALTHY_FOR_SECONDS", 0.5)


def spec() -> ContainerSpec:
    return ContainerSpec(site="shop", release="v2", instance="d7", image="img", command=("x",), limits=LIMITS,
                         slug_dir=Path("/slugs/a"), data_dir=None, host_port=None)


def start(engine: FakeEngine, host: Host, app: App, check: HealthCheck = HealthCheck(), timeout: float = 5) -> Instance:
    # The fake publishes every container on the app's real port: make the probe go there.
    host.service_address = "127.0.0.1"
    original = instances.wait_until_healthy

    def wait(engine_, name, address, port, container_port, check_, timeout_):
        original(engine_, name, address, app.port, container_port, check_, timeout_)

    instances.wait_until_healthy = wait
    try:
        return instances.start_instance(engine, host, spec(), check, timeout)
    finally:
        instances.wait_until_healthy = original


def test_it_starts_a_healthy_instance_and_records_it_running(host):
    app = App(200)
    engine = FakeEngine(app)
    try:
        instance = start(engine, host, app)
    finally:
        app.close()
    row = Instance.objects.get(pk=instance.pk)
    assert (row.state, row.container_address, row.memory_mb) == ("running", "172.30.0.9", 256)
    assert HostPort.objects.get(host=host, holder=row.name).port == row.port
    labels = engine.started[0].all_labels
    assert labels[LABEL_HOST] == "h1" and labels[LABEL_FLEET] == instances.fleet_id()


def test_a_taken_port_is_avoided(host):
    app = App(200)
    engine = FakeEngine(app, refuse_first=True)
    try:
        instance = start(engine, host, app)
    finally:
        app.close()
    taken, used = engine.attempted
    assert taken != used == instance.port and [s.host_port for s in engine.started] == [used]
    assert list(HostPort.objects.values_list("port", flat=True)) == [used]


def test_an_app_answering_500_is_not_ready_and_nothing_stays(host):
    app = App(500)
    engine = FakeEngine(app)
    try:
        with pytest.raises(AppUnhealthy, match="answered HTTP 500 on / .*Last lines:\nbooting\nready"):
            start(engine, host, app)
    finally:
        app.close()
    assert engine.removed == ["site-shop-v2-d7"]
    assert Instance.objects.get(name="site-shop-v2-d7").state == "failed"
    assert not HostPort.objects.exists()


def test_a_declared_health_check_path_decides(host):
    app = App({"/": 500, "/healthz": 200})
    engine = FakeEngine(app)
    try:
        instance = start(engine, host, app, HealthCheck(path="/healthz", declared=True))
        with pytest.raises(AppUnhealthy, match="HTTP 404 on /missing .*a 2xx or 3xx status"):
            start(engine, host, app, HealthCheck(path="/missing", declared=True))
    finally:
        app.close()
    assert instance.state == "running"


def test_any_failure_of_a_start_discards_its_container(host):
    app = App(200)
    engine = FakeEngine(app)

    def edge_refuses(instance):
        raise RuntimeError("the edge is away")

    try:
        with pytest.raises(RuntimeError):
            instances.start_instance(engine, host, spec(), HealthCheck(), 5, on_started=edge_refuses)
    finally:
        app.close()
    assert engine.removed == ["site-shop-v2-d7"] and not HostPort.objects.exists()
    assert Instance.objects.get(name="site-shop-v2-d7").state == "failed"


def test_placement_with_no_room_says_so_and_records_nothing(host):
    Host.objects.create(name="h2", memory_mb=8192, cpus=8, last_heartbeat=timezone.now() - timezone.timedelta(hours=1))
    Instance.objects.create(host=host, name="site-a-v1-d1", site_label="a", release_label="v1", memory_mb=900,
                            cpu_millicores=100, state=Instance.State.RUNNING)
    rows = (Instance.objects.count(), HostPort.objects.count())

    with pytest.raises(NoHostAvailable, match="No host has room for 256 MB and 250 millicores") as raised:
        place_instance(256, 250)

    assert isinstance(raised.value, Exception) and not isinstance(raised.value, CustomerError)
    assert (Instance.objects.count(), HostPort.objects.count()) == rows
    assert place_instance(124, 250) == host  # what does fit still goes to the live host
