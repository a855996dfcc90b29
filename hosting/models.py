"""The fleet: the machines that run site containers."""
from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.names import DNS_LABEL_PATTERN
from core.routing import host_queue

validate_host_name = RegexValidator(
    DNS_LABEL_PATTERN, "A host name is a DNS label: lowercase letters, digits and inner hyphens, at most 63."
)


class HostQuerySet(models.QuerySet):
    def with_reservations(self) -> "HostQuerySet":
        """Hosts with what their instances reserve, in the same query however many there are:
        `reserved_memory_mb`, `reserved_millicores` (starting and running instances' plan limits),
        and `instance_count` (instances in any state)."""
        reserving = models.Q(instances__state__in=Instance.RESERVING)
        return self.annotate(
            reserved_memory_mb=Coalesce(models.Sum("instances__memory_mb", filter=reserving), 0),
            reserved_millicores=Coalesce(models.Sum("instances__cpu_millicores", filter=reserving), 0),
            instance_count=models.Count("instances"),
            reserving_count=models.Count("instances", filter=reserving),
        )


class Host(models.Model):
    """A machine with a Docker daemon and an agent consuming the queue `host.<name>`.

    The agent registers the row on start with the capacity its daemon reports, then heartbeats.
    """

    name = models.CharField(max_length=63, unique=True, validators=[validate_host_name])
    service_address = models.GenericIPAddressField(
        default="127.0.0.1", help_text="Address the edge reaches this host's containers on."
    )
    cpus = models.PositiveIntegerField(default=0, help_text="CPUs the Docker daemon reports.")
    memory_mb = models.PositiveIntegerField(default=0, help_text="Memory the Docker daemon reports, in MB.")
    docker_version = models.CharField(max_length=64, blank=True)
    kernel_version = models.CharField(max_length=128, blank=True)
    operating_system = models.CharField(max_length=128, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    down_since = models.DateTimeField(
        null=True, blank=True, help_text="When the heartbeat check first found this host silent."
    )
    cordoned_at = models.DateTimeField(
        null=True, blank=True, help_text="Since when placement gives this host no new work (cordon, drain)."
    )
    cordon_reason = models.CharField(max_length=200, blank=True)
    draining_since = models.DateTimeField(
        null=True, blank=True, help_text="Since when its sites are being moved off it (drain); cleared by undrain."
    )
    # sha256 of the host's agent token (manage.py add_host prints the token once): the agent shows
    # it to the control plane's internal endpoints (slugs, sources). Empty: the host has none yet.
    token_digest = models.CharField(max_length=64, blank=True, editable=False)

    objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue(self) -> str:
        return host_queue(self.name)

    def is_up(self, now=None) -> bool:
        """Up while its last heartbeat is more recent than HOST_DOWN_AFTER seconds."""
        if self.last_heartbeat is None:
            return False
        now = now or timezone.now()
        return now - self.last_heartbeat <= timedelta(seconds=settings.HOST_DOWN_AFTER)

    @property
    def status(self) -> str:
        return "up" if self.is_up() else "down"

    @property
    def fleet_state(self) -> str:
        """What the fleet does with the host now: down, draining (sites still on it), cordoned
        (no new work; drained when empty), or up. Needs HostQuerySet.with_reservations."""
        if not self.is_up():
            return "down"
        if self.draining_since is not None and self.reserving_count:
            return "draining"
        if self.cordoned_at is not None:
            return "drained" if self.draining_since is not None else "cordoned"
        return "up"

    @staticmethod
    def placeable_millicores(cpus: int) -> int:
        """What placement may reserve on `cpus` CPUs: overcommitted by CPU_OVERCOMMIT."""
        return int(cpus * 1000 * settings.CPU_OVERCOMMIT)

    @property
    def cpu_capacity_millicores(self) -> int:
        return self.placeable_millicores(self.cpus)

    # The next two need HostQuerySet.with_reservations.

    @property
    def free_memory_mb(self) -> int:
        return int(self.memory_mb * settings.MEMORY_OVERCOMMIT) - self.reserved_memory_mb

    @property
    def free_millicores(self) -> int:
        return self.cpu_capacity_millicores - self.reserved_millicores


class HostPort(models.Model):
    """A port of a host's service address, held by one container until released.

    The unique constraint is what guarantees a port is never handed out twice, even when two
    workers allocate at the same moment.
    """

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="ports")
    port = models.PositiveIntegerField()
    holder = models.CharField(max_length=200, help_text="The container name holding the port.")
    allocated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "port"], name="unique_port_per_host"),
            models.UniqueConstraint(fields=["host", "holder"], name="one_port_per_holder"),
        ]

    def __str__(self) -> str:
        return f"{self.host}:{self.port} ({self.holder})"


class Instance(models.Model):
    """One site container on one host. Hosting knows a site only by its label."""

    class State(models.TextChoices):
        STARTING = "starting", "Starting"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    # The states that hold the instance's memory and CPU on its host (placement counts these).
    RESERVING = (State.STARTING, State.RUNNING)

    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="instances")
    name = models.CharField(max_length=200, unique=True, help_text="The container's deterministic name.")
    site_label = models.CharField(max_length=63, db_index=True)
    release_label = models.CharField(max_length=63)
    port = models.PositiveIntegerField(null=True, blank=True)
    container_address = models.GenericIPAddressField(null=True, blank=True, help_text="Its own address on the site network.")
    memory_mb = models.PositiveIntegerField(default=0, help_text="Memory reserved on the host.")
    cpu_millicores = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.STARTING)
    created_at = models.DateTimeField(default=timezone.now)
    # A process beside the web one (a worker): it publishes no port and answers no health check,
    # and its owner, not the edge, decides how many run (hosting/instances.py start_process).
    process = models.CharField(max_length=30, blank=True, default="",
                               help_text="The process type it runs (a Procfile line); empty: the web process.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def upstream(self) -> str:
        """Where the edge sends the instance's requests.

        A host whose service address is loopback shares the machine with the edge, so the edge
        goes to the container's own address and skips Docker's port proxy (a third of the
        throughput); any other host is reached on its published port.
        """
        if ipaddress.ip_address(self.host.service_address).is_loopback and self.container_address:
            return f"{self.container_address}:{settings.SITE_CONTAINER_PORT}"
        return f"{self.host.service_address}:{self.port}"


class UsageSample(models.Model):
    """A site's CPU and memory in one bucket of time, from its agent's samples of its containers.

    Keyed by the site's volume (its uuid hex, as hosting.instances.purge knows it), never its
    label: a name passes to the next site that takes it. Each sample adds to a bucket of every
    resolution (core.timeseries); pruning keeps each resolution for a while only."""

    volume = models.CharField(max_length=63)
    resolution = models.PositiveIntegerField(help_text="The bucket's length in seconds.")
    start = models.DateTimeField()
    cpu_millicores_sum = models.FloatField(default=0, help_text="Sum of the samples' CPU, in thousandths of a core.")
    cpu_samples = models.PositiveIntegerField(default=0)
    memory_max_bytes = models.PositiveBigIntegerField(default=0, help_text="The highest memory use sampled.")
    memory_limit_bytes = models.PositiveBigIntegerField(default=0)
    cpu_limit_millicores = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["volume", "resolution", "start"], name="one_usage_bucket")]
        indexes = [models.Index(fields=["resolution", "start"], name="usage_by_age")]

    @property
    def cpu_millicores(self) -> float | None:
        """The average over the bucket's samples."""
        return self.cpu_millicores_sum / self.cpu_samples if self.cpu_samples else None


class VolumeUsage(models.Model):
    """How full a site's /data volume on a host was when its agent last looked."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="volume_usages")
    volume = models.CharField(max_length=63, db_index=True)
    used_bytes = models.PositiveBigIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    measured_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "volume"], name="one_usage_per_volume_and_host")]


class RuntimeImage(models.Model):
    """An image of the runtime catalog (or the OS image) present on a host, as its agent or
    `manage.py build_images` found it after a build: the tag is the recipe's content hash, so a
    new tag means a changed recipe. `created_at` is Docker's own `Created` of the image."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="images")
    runtime = models.CharField(max_length=16, help_text="A runtime of the catalog, or \"os\" for the OS image.")
    tag = models.CharField(max_length=200)
    created_at = models.DateTimeField("built at", null=True, blank=True,
                                      help_text="When Docker built or imported the image (its Created).")
    recorded_at = models.DateTimeField(default=timezone.now, help_text="When the host last reported it present.")

    class Meta:
        ordering = ["runtime", "host__name", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["host", "tag"], name="one_record_per_image_and_host")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.host_id and self.host.name}"
