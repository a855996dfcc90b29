"""The edge's routing table: which hostname goes where. Rendered into nginx by proxy.edge."""
from __future__ import annotations

from django.db import models


class Route(models.Model):
    class Status(models.TextChoices):
        LIVE = "live", "Live"
        STARTING = "starting", "Starting"
        STOPPED = "stopped", "Stopped"
        SUSPENDED = "suspended", "Suspended"

    hostname = models.CharField(max_length=253, unique=True)
    group = models.CharField(max_length=63, db_index=True, help_text="Routes of one site share a group (the site's name).")
    upstreams = models.JSONField(default=list, help_text="host:port addresses of the live instances.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTING)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname
