"""One-off commands and scheduled jobs of a site: a `Run` is one container of the site's current
release running a command to its end; a `ScheduledJob` makes runs on a cron schedule.

Kept apart from sites/models.py (which imports these) so that neither module grows past its
size; the foreign keys name their models by label, so this module imports no other model module.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models


class RunQuerySet(models.QuerySet):
    """Runs and jobs of an organization's sites; `for_member` is the way in for views (as
    sites.models.TenantQuerySet)."""

    def for_member(self, user) -> "RunQuerySet":
        return self.filter(site__organization__memberships__user=user)


class ScheduledJob(models.Model):
    """A command run on a cron schedule (UTC) in a one-off container of the site's current release."""

    class Source(models.TextChoices):
        API = "api", "API or portal"
        REPOSITORY = "repository", "hosting.toml"

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="jobs")
    name = models.CharField(max_length=30, help_text="Lowercase letters, digits, - and _ (a Procfile name).")
    schedule = models.CharField(max_length=100, help_text="Cron: minute hour day-of-month month day-of-week, in UTC.")
    command = models.CharField(max_length=2000)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    # When beat next starts it; the tick finds due jobs by this index.
    next_run_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="one_job_per_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.site_id}:{self.name}"


class Run(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        SKIPPED = "skipped", "Skipped"  # a scheduled run whose previous run of the same job still ran

    class Trigger(models.TextChoices):
        API = "api", "API"
        PORTAL = "portal", "Portal"
        SCHEDULE = "schedule", "Schedule"

    ACTIVE = (State.QUEUED, State.RUNNING)
    FINISHED = {State.SUCCEEDED, State.FAILED, State.TIMED_OUT, State.SKIPPED}

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="runs")
    job = models.ForeignKey(ScheduledJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    release = models.ForeignKey("sites.Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    command = models.CharField(max_length=2000)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    host_name = models.CharField(max_length=63, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    timeout_seconds = models.PositiveIntegerField(help_text="The plan's limit when it was started.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "state"], name="run_job_state")]

    def __str__(self) -> str:
        return f"run #{self.pk} {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def duration(self) -> timedelta | None:
        if self.finished_at is None or self.started_at is None:
            return None
        return self.finished_at - self.started_at
