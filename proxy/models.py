"""The edge's state: the routing table, domain verification tokens, certificates, traffic, and
how the last apply went. Rendered into nginx by proxy.edge."""
from __future__ import annotations

from django.db import models


class Route(models.Model):
    class Status(models.TextChoices):
        LIVE = "live", "Live"
        STARTING = "starting", "Starting"
        STOPPED = "stopped", "Stopped"
        SUSPENDED = "suspended", "Suspended"

    hostname = models.CharField(max_length=253, unique=True)
    group = models.CharField(max_length=63, db_index=True,
                             help_text="Routes of one site share a group: the site's uuid, never its reusable name.")
    upstreams = models.JSONField(default=list, help_text="host:port addresses of the live instances.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTING)
    https_redirect = models.BooleanField(default=False)
    hsts = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    def line(self) -> str:
        """The route as the edge's Lua table stores it (see proxy/lua/hosting_edge.lua)."""
        flags = ("h" if self.https_redirect else "") + ("s" if self.hsts else "")
        return f"{self.hostname} {self.status} {flags or '-'} {self.group} {','.join(self.upstreams)}".rstrip()


class Upstream(models.Model):
    """Which site an address belongs to now. An address is one site's at a time: when a container
    address (or host port) is handed to another site's instance, the site that had it loses it
    from its routes in the same transaction, so a stale route can never reach the new owner. The
    edge keeps the same rule in its own table (proxy/lua/hosting_edge.lua)."""

    address = models.CharField(max_length=64, unique=True)
    group = models.CharField(max_length=63, db_index=True)
    claimed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.address} -> {self.group}"


class VerificationToken(models.Model):
    """Served by the edge at http://<hostname>/.well-known/hosting-verification while pending."""

    hostname = models.CharField(max_length=253, unique=True)
    token = models.CharField(max_length=64)

    def line(self) -> str:
        return f"verify:{self.hostname} {self.token}"


class Certificate(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed"

    hostname = models.CharField(max_length=253, unique=True, help_text="The name, or *.<domain> for a wildcard.")
    group = models.CharField(max_length=63, blank=True, help_text="The site's uuid it belongs to; blank for the platform's.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True, help_text="Why the last issuance failed, for the customer.")
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(
        default=0, help_text="Failed issuances in a row; each doubles the wait before the next try (1 h up to a week).")

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class EdgeState(models.Model):
    """One row: how the last apply of the edge config went, shown to staff in the admin."""

    applied_at = models.DateTimeField(null=True, blank=True)
    apply_seconds = models.FloatField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "edge state"

    def __str__(self) -> str:
        return "failing" if self.error else "healthy"


class SiteTraffic(models.Model):
    """Requests and bytes per site in buckets of a minute, ten minutes and an hour, from the edge's
    access log (for the portal's charts); each resolution is pruned after a while (core.timeseries)."""

    group = models.CharField(max_length=63, help_text="The site's uuid (a name passes to the next site that takes it).")
    resolution = models.PositiveIntegerField(default=60, help_text="The bucket's length in seconds.")
    minute = models.DateTimeField(help_text="The start of the bucket.")
    requests = models.PositiveBigIntegerField(default=0)
    bytes_sent = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "resolution", "minute"], name="one_traffic_bucket")]
        indexes = [models.Index(fields=["resolution", "minute"], name="traffic_by_age")]
        ordering = ["group", "resolution", "minute"]
