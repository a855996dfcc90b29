"""Integration tests run real processes against the services `make test` started."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pytest
import requests
from django.conf import settings

from hosting.engine import ContainerEngine, ContainerSpec, ResourceLimits
from hosting.host_setup import prepare_host
from hosting.images import APP_UID, runtime_image
from hosting.runtimes import CATALOG
from hosting.volumes import QuotaVolumes

BASE_DIR = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    """Poll `condition` until it returns something truthy; fail the test with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def service_env(db) -> dict[str, str]:
    """The environment a child process needs to use the same test database and Redis as the test."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need the PostgreSQL and Redis that `make test` starts; run them with make test")
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ChildProcess:
    """A platform process started by a test, with its output captured in a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


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


# --- site containers under the container contract ------------------------------------------------



SMALL = ResourceLimits(memory_mb=128, cpu_millicores=500, pids=64, tmp_mb=16)


@pytest.fixture(scope="session")
def engine():
    engine = ContainerEngine()
    prepare_host(engine)
    yield engine
    engine.close()


@dataclass
class RunningSite:
    spec: ContainerSpec
    engine: ContainerEngine

    @property
    def url(self) -> str:
        return f"http://{self.spec.service_address}:{self.spec.host_port}"

    @property
    def address(self) -> str:
        """The container's own address on the site network."""
        networks = self.engine.inspect(self.spec.name)["NetworkSettings"]["Networks"]
        return networks[self.spec.network]["IPAddress"]


def write_slug(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


class SiteLab:
    """Starts site containers of the runtimes from small slugs, and cleans up after the test."""

    def __init__(self, engine: ContainerEngine, tmp_path: Path) -> None:
        from hosting.models import Host

        self.engine = engine
        self.tmp_path = tmp_path
        self.host, _ = Host.objects.get_or_create(name="engine-test")
        self.volumes = QuotaVolumes(settings.VOLUMES_DIR)
        self.sites: list[str] = []

    def make_spec(self, runtime: str, files: dict[str, str], command=None, limits: ResourceLimits = SMALL,
                  disk_mb: int | None = 32, publish: bool = True) -> ContainerSpec:
        from hosting.ports import allocate_port

        site = f"t{uuid.uuid4().hex[:10]}"
        self.sites.append(site)
        slug = write_slug(self.tmp_path / f"slug-{site}", files)
        spec = ContainerSpec(
            site=site, release="v1", instance="web-1", image=runtime_image(runtime),
            command=tuple(command or CATALOG[runtime].web_command), limits=limits, slug_dir=slug,
            data_dir=self.volumes.ensure(site, disk_mb, APP_UID) if disk_mb else None,
            host_port=None, network=settings.SITE_NETWORK,
        )
        if publish:
            spec = replace(spec, host_port=allocate_port(self.host, spec.name))
        return spec

    def start(self, runtime: str, files: dict[str, str], command=None, wait: bool = True, **kwargs) -> RunningSite:
        spec = self.make_spec(runtime, files, command, **kwargs)
        self.engine.start(spec)
        if wait:
            self.engine.wait_until_answering(spec.name, spec.service_address, spec.host_port, timeout=60)
        return RunningSite(spec, self.engine)

    def run_once(self, runtime: str, command, timeout: float = 60, files: dict[str, str] | None = None, **kwargs):
        spec = self.make_spec(runtime, files or {"README": "probe"}, command, publish=False, **kwargs)
        return self.engine.run_once(spec, timeout=timeout)

    def cleanup(self) -> None:
        from hosting.ports import release_port

        for site in self.sites:
            for container in self.engine.list_site_containers(site):
                self.engine.remove(container.name)
                release_port(self.host, container.name)
            self.volumes.remove(site)


@pytest.fixture
def sites(engine, tmp_path, db):
    lab = SiteLab(engine, tmp_path)
    yield lab
    lab.cleanup()


# --- the whole platform, as `make run` starts it ----------------------------------------------------



@dataclass
class Platform:
    portal: str
    edge_port: int
    data_dir: Path
    processes: dict
    https_port: int = 0

    def edge_get(self, hostname: str, path: str = "/", **kwargs):
        return requests.get(f"http://127.0.0.1:{self.edge_port}{path}", headers={"Host": hostname}, timeout=10, **kwargs)

    def output(self, name: str) -> str:
        return self.processes[name].output()


@dataclass(frozen=True)
class EdgePorts:
    portal: int
    http: int
    https: int


@pytest.fixture(scope="session")
def edge_ports() -> EdgePorts:
    from hosting.launcher.processes import free_tcp_port

    return EdgePorts(free_tcp_port(), free_tcp_port(), free_tcp_port())


@dataclass(frozen=True)
class Pebble:
    directory_url: str
    management_url: str
    api_ca: Path  # trust for Pebble's own API
    dns_address: str  # pebble-challtestsrv's DNS server (host:port)
    dns_management_url: str  # where to add records to it

    def set_txt(self, name: str, value: str) -> None:
        import requests

        requests.post(f"{self.dns_management_url}/set-txt", json={"host": name.rstrip(".") + ".", "value": value},
                      timeout=10).raise_for_status()

    def root_certificate(self, destination: Path) -> Path:
        """The root that signs what Pebble issues (it changes on every Pebble start)."""
        import requests

        destination.write_text(requests.get(f"{self.management_url}/roots/0", verify=str(self.api_ca), timeout=10).text)
        return destination


@pytest.fixture(scope="session")
def pebble(edge_ports, tmp_path_factory):
    """Pebble, the ACME test server, validating HTTP-01 against the edge; every name resolves to
    127.0.0.1 through pebble-challtestsrv's DNS."""
    import json

    from hosting.launcher.processes import ManagedProcess, free_tcp_port, tcp_port_open

    work = tmp_path_factory.mktemp("pebble")
    ca = _write_test_ca(work)
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


def _write_test_ca(work: Path) -> Path:
    """A throwaway CA and a certificate for Pebble's API on 127.0.0.1 and localhost."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hosting test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (work / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (work / "pebble.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (work / "pebble.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    return work / "ca.pem"


@pytest.fixture(scope="session")
def platform(django_db_setup, django_db_blocker, tmp_path_factory, edge_ports, pebble):
    """Every process of the Procfile (web, worker, agent, beat, edge), on the test database, with
    Pebble as the ACME server."""
    from hosting.launcher.stack import start_platform, stop_platform, wait_until_ready

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need the PostgreSQL and Redis that `make test` starts; run them with make test")
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "PYTHONUNBUFFERED": "1",
        "PORTAL_BIND": f"127.0.0.1:{edge_ports.portal}",
        "PROXY_HTTP_PORT": str(edge_ports.http),
        "PROXY_HTTPS_PORT": str(edge_ports.https),
        "HOST_NAME": "platform-test",
        "WORKER_NAME": "control-platform-test",
        "HEARTBEAT_INTERVAL": "2",
        "HOST_DOWN_AFTER": "10",
        "DRAIN_SECONDS": "2",
        "START_TIMEOUT": "10",
        "ACME_DIRECTORY_URL": pebble.directory_url,
        "ACME_CA_BUNDLE": str(pebble.api_ca),
        "DOMAIN_VERIFICATION_ADDRESS": f"127.0.0.1:{edge_ports.http}",
    })
    processes = start_platform(env, tmp_path_factory.mktemp("platform"))
    try:
        wait_until_ready(processes, edge_ports.portal, edge_ports.http)
        yield Platform(f"http://127.0.0.1:{edge_ports.portal}", edge_ports.http, Path(settings.DATA_DIR), processes,
                       edge_ports.https)
    finally:
        stop_platform(processes)


@dataclass
class Customer:
    """A member of an organization with an API token."""

    email: str
    token: str
    organization: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def customers(transactional_db):
    """Owner, developer and viewer of one organization, and an outsider owning another."""
    from accounts.models import Plan
    from accounts.services import add_member, create_organization, get_or_create_user, issue_token

    _seed_plans(Plan)
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


def _seed_plans(Plan) -> None:
    # Transactional tests flush tables, including rows the migrations seeded.
    Plan.objects.get_or_create(name="starter", defaults=dict(
        label="Starter", memory_mb=256, cpu_millicores=250, pids_limit=128, disk_mb=256, tmp_mb=32, max_sites=10,
        max_custom_domains=2, max_push_mb=100, build_timeout_seconds=600, is_default=True))


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(cwd)}
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def push_url(platform: Platform, customer: Customer, site: str) -> str:
    host = platform.portal.removeprefix("http://")
    return f"http://user:{customer.token}@{host}/git/{site}.git"


# --- deploying sites through the running platform -------------------------------------------------

APPS = Path(__file__).resolve().parents[1] / "apps"


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


def api(platform, customer, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{platform.portal}/api/v1/{path}", headers=customer.headers(), timeout=60, **kwargs)


def create_site(deploy_env, name_prefix: str, **fields) -> str:
    platform, customers, created = deploy_env
    name = f"{name_prefix}-{uuid.uuid4().hex[:6]}"
    response = api(platform, customers["owner"], "POST", "sites/", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    created.append(name)
    return name


def workdir_with(tmp_path: Path, app: str | None, files: dict[str, str] | None = None) -> Path:
    work = tmp_path / f"repo-{time.monotonic_ns()}"
    if app:
        shutil.copytree(APPS / app, work)
    else:
        work.mkdir()
    for relative, content in (files or {}).items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(content)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "deploy", cwd=work)
    return work


def commit_all(work: Path, message: str) -> None:
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)


def push(deploy_env, work: Path, site: str, customer: str = "owner", check: bool = True):
    platform, customers, _ = deploy_env
    return git("push", "-q", push_url(platform, customers[customer], site), "HEAD:main", cwd=work, check=check)


def served(platform, site: str, path: str = "/") -> requests.Response:
    return platform.edge_get(f"{site}.apps.localhost", path)


