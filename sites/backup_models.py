"""Backups of a site's /data (sites/data_backups.py is their service). Kept apart from
sites/models.py (which imports it) so that neither grows past its size; the foreign key names its
model by label, so this module imports no other model module."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class SiteBackupQuerySet(models.QuerySet):
    def for_member(self, user) -> "SiteBackupQuerySet":
        """The backups of the sites of the organizations `user` belongs to, and no others."""
        return self.filter(site__organization__memberships__user=user)

    def stored_bytes(self) -> int:
        """What the succeeded ones hold in the store: what the plan's backup_mb bounds per site."""
        total = self.filter(state=SiteBackup.State.SUCCEEDED).aggregate(total=models.Sum("size_bytes"))["total"]
        return total or 0


class SiteBackup(models.Model):
    """A tarball of a site's /data and a dump of each of its databases (sites/data_backups.py), kept
    in the control plane's store. `sha256` is the tarball's; `size_bytes` counts every part (the
    plan's backup_mb holds them all); `databases` lists the dumps, one per attached database:
    {"engine", "size_bytes", "sha256"}."""

    class State(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Kind(models.TextChoices):
        NIGHTLY = "nightly"
        MANUAL = "manual"

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="backups")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    host_name = models.CharField(max_length=63, help_text="The host whose copy of /data it holds.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    databases = models.JSONField(default=list, blank=True, help_text="The database dumps it holds.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = SiteBackupQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
