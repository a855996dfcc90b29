"""Accounts: what customers buy (plans); organizations and members come with the sites issue."""
from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models


class Plan(models.Model):
    """Quotas and limits a site runs under. Staff edit plans in the admin."""

    name = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    memory_mb = models.PositiveIntegerField(validators=[MinValueValidator(32)], help_text="Memory per container (MB); swap is not allowed.")
    cpu_millicores = models.PositiveIntegerField(validators=[MinValueValidator(50)], help_text="CPU per container; 1000 is one core.")
    pids_limit = models.PositiveIntegerField(validators=[MinValueValidator(16)], help_text="Processes and threads per container.")
    disk_mb = models.PositiveIntegerField(validators=[MinValueValidator(16)], help_text="Quota of the site's persistent /data volume (MB).")
    tmp_mb = models.PositiveIntegerField(default=64, validators=[MinValueValidator(1)], help_text="Size of the in-memory /tmp (MB), counted in memory.")
    max_sites = models.PositiveIntegerField(help_text="Sites an organization on this plan may create.")
    max_custom_domains = models.PositiveIntegerField(help_text="Custom domains per site.")
    max_push_mb = models.PositiveIntegerField(help_text="Largest git push or archive upload (MB).")
    build_timeout_seconds = models.PositiveIntegerField(validators=[MinValueValidator(30)])
    is_default = models.BooleanField(default=False, help_text="Given to new organizations.")

    class Meta:
        ordering = ["memory_mb", "name"]

    def __str__(self) -> str:
        return self.label
