"""The fleet: the machines that run site containers."""
from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from core.names import DNS_LABEL_PATTERN
from core.routing import host_queue

validate_host_name = RegexValidator(
    DNS_LABEL_PATTERN, "A host name is a DNS label: lowercase letters, digits and inner hyphens, at most 63."
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
