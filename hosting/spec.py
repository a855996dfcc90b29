"""What the fleet starts: a container spec and the names, labels and limits that go with it.

Plain values with no Docker in them, so the sites layer can build a spec and unit tests can read
one without a daemon. The engine (hosting/engine.py) turns a spec into a container under the
whole container contract.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.names import is_dns_label, is_env_key

LABEL_PREFIX = "hosting"
LABEL_MANAGED = f"{LABEL_PREFIX}.managed"
LABEL_SITE = f"{LABEL_PREFIX}.site"
LABEL_RELEASE = f"{LABEL_PREFIX}.release"
LABEL_INSTANCE = f"{LABEL_PREFIX}.instance"
# Set by the fleet on the containers it records as instances (hosting/instances.py): which
# installation and which host started it, so reconcile can tell its own orphans from containers
# of another platform sharing the daemon (tests) or of one-off work (builds).
LABEL_FLEET = f"{LABEL_PREFIX}.fleet"
LABEL_HOST = f"{LABEL_PREFIX}.host"
DEFAULT_UID = 10000  # the images' own user; sites run as their own uid (ContainerSpec.uid)
NO_NETWORK = "none"  # one-off containers that need no network at all (unpacking)


@dataclass(frozen=True)
class DaemonCapacity:
    """What a host's Docker daemon reports about the machine it runs on."""

    cpus: int
    memory_mb: int
    docker_version: str
    kernel_version: str
    operating_system: str


@dataclass(frozen=True)
class ResourceLimits:
    """A container's share of its host, from the site's plan."""

    memory_mb: int
    cpu_millicores: int
    pids: int
    tmp_mb: int = 64

    def __post_init__(self) -> None:
        if self.memory_mb < 16 or self.cpu_millicores < 10 or self.pids < 8 or self.tmp_mb < 1:
            raise ValueError(f"limits too small to run anything: {self}")


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to start one site container; the engine adds the contract."""

    site: str
    release: str
    instance: str
    image: str
    command: tuple[str, ...]
    limits: ResourceLimits
    slug_dir: Path
    data_dir: Path | None
    host_port: int | None  # None: nothing published (one-off containers)
    service_address: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    extra_mounts: tuple[Mount, ...] = ()  # e.g. writable paths: parts of /data mounted under /app
    container_port: int = 5000
    network: str = "hosting-sites"
    app_writable: bool = False  # builds write into /app; running sites never do
    uid: int = DEFAULT_UID  # the site's own uid and gid: all of its containers and files use it
    # False: a process that serves nothing (a worker): Docker probes no port in it (it would only
    # ever show it unhealthy).
    listens: bool = True
    # More hosting.* labels (the fleet's own); values, like the parts of the name, are DNS labels.
    labels: dict[str, str] = field(default_factory=dict)
    # Networks joined besides `network` before the container starts: its site's database network
    # (hosting/dbserver.py), the only way to that site's database.
    extra_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.uid, int) or self.uid < 1000:
            raise ValueError(f"uid {self.uid!r} is not an unprivileged user id")
        for what, value in (("site", self.site), ("release", self.release), ("instance", self.instance)):
            if not is_dns_label(value):
                raise ValueError(f"{what} {value!r} is not a lowercase DNS label")
        for key in self.env:
            if not is_env_key(key):
                raise ValueError(f"environment key {key!r} is not allowed")
        for network in self.extra_networks:
            if not is_dns_label(network):
                raise ValueError(f"network {network!r} is not a lowercase DNS label")
        for key, value in self.labels.items():
            if not key.startswith(f"{LABEL_PREFIX}.") or not is_dns_label(value):
                raise ValueError(f"label {key}={value!r} is not a hosting label with a DNS-label value")

    @property
    def name(self) -> str:
        return container_name(self.site, self.release, self.instance)

    @property
    def all_labels(self) -> dict[str, str]:
        return {
            **self.labels,
            LABEL_MANAGED: "true",
            LABEL_SITE: self.site,
            LABEL_RELEASE: self.release,
            LABEL_INSTANCE: self.instance,
        }


def container_name(site: str, release: str, instance: str) -> str:
    return f"site-{site}-{release}-{instance}"


@dataclass(frozen=True)
class ContainerState:
    name: str
    id: str
    status: str  # created, running, exited, ...
    running: bool
    exit_code: int | None
    oom_killed: bool
    labels: dict[str, str]
    host_port: int | None
    address: str | None = None  # the container's own address on its network


@dataclass(frozen=True)
class RunningContainer:
    id: str
    site: str
    mounts: dict[str, str]  # where inside -> what on the host


@dataclass(frozen=True)
class OneOffResult:
    exit_code: int | None  # None: killed at the timeout
    oom_killed: bool
    output: str
    timed_out: bool


@dataclass(frozen=True)
class ContainerStats:
    cpu_seconds: float
    memory_bytes: int
    memory_limit_bytes: int
    pids: int
