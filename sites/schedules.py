"""A site's scheduled jobs: added, changed and removed through the API or the portal, or declared
in the repository's hosting.toml (`[[cron]]` tables) and taken over when a release goes live.

Which wins: a job made through the API or the portal. A hosting.toml job of the same name is left
alone while it exists (as the site's own health check path wins over hosting.toml's); remove it
and the repository's comes back with the next release. Repository jobs follow the live release:
one no longer declared goes, a changed one changes.

Beat starts the runs (sites/scheduler.py); every job counts against the plan's max_scheduled_jobs.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts import audit
from sites import cron
from sites.models import Site, Slug
from sites.run_models import Run, ScheduledJob
from sites.validation import validate_command, validate_job

log = logging.getLogger(__name__)


def next_run(schedule: str, after: datetime | None = None) -> datetime:
    return cron.parse(schedule).next_after(after or timezone.now())


def jobs_of(site: Site) -> list[ScheduledJob]:
    """The site's jobs, each with `last_run` (its latest run or None), in two queries."""
    latest = Run.objects.filter(job=OuterRef("pk")).order_by("-id").values("pk")[:1]
    jobs = list(ScheduledJob.objects.filter(site=site).annotate(last_run_id=Subquery(latest)))
    last = Run.objects.select_related("job", "release", "created_by").in_bulk(
        [job.last_run_id for job in jobs if job.last_run_id])
    for job in jobs:
        job.last_run = last.get(job.last_run_id)
    return jobs


def _lock(site: Site) -> None:
    # The site's row lock, as the deploy pipeline takes it first (sites.pipeline.machine.lock_site):
    # two additions cannot both pass the plan's limit.
    Site.objects.select_for_update().filter(pk=site.pk).first()


def add_job(site: Site, name, schedule, command, by=None) -> ScheduledJob:
    """A new job of the site (it replaces a hosting.toml job of that name), within the plan's limit."""
    job = validate_job(name, schedule, command)
    with transaction.atomic():
        _lock(site)
        existing = ScheduledJob.objects.filter(site=site, name=job["name"]).first()
        if existing is not None and existing.source == ScheduledJob.Source.API:
            raise ValidationError(f"The site already has a job named {job['name']}; change or remove it.")
        count = ScheduledJob.objects.filter(site=site).exclude(pk=getattr(existing, "pk", None)).count()
        if count >= site.plan.max_scheduled_jobs:
            raise ValidationError(f"Your plan allows {site.plan.max_scheduled_jobs} scheduled jobs per site; "
                                  "remove one first.")
        if existing is not None:
            existing.delete()  # the API's job wins over the repository's of the same name
        created = ScheduledJob.objects.create(site=site, source=ScheduledJob.Source.API,
                                              next_run_at=next_run(job["schedule"]), **job)
    audit.record(site.organization, "site.job.add", created.name, site=site.name, by=by, schedule=created.schedule)
    return created


def change_job(job: ScheduledJob, schedule=None, command=None, by=None) -> ScheduledJob:
    """A new schedule or command for a job; a hosting.toml job changed here becomes the API's."""
    cleaned = validate_job(job.name, job.schedule if schedule is None else schedule,
                           job.command if command is None else command)
    job.schedule, job.command, job.source = cleaned["schedule"], cleaned["command"], ScheduledJob.Source.API
    job.next_run_at = next_run(job.schedule)
    job.save(update_fields=["schedule", "command", "source", "next_run_at", "updated_at"])
    audit.record(job.site.organization, "site.job.change", job.name, site=job.site.name, by=by, schedule=job.schedule)
    return job


def remove_job(job: ScheduledJob, by=None) -> None:
    """The job stops; its past runs stay in the site's list of runs."""
    site = job.site
    job.delete()
    audit.record(site.organization, "site.job.remove", job.name, site=site.name, by=by)


def adopt_repository_jobs(site: Site, slug: Slug) -> list[str]:
    """The live release's hosting.toml jobs become the site's repository jobs (call it inside the
    switch's transaction, with the site locked). Returns notes for the deployment's log: jobs left
    out because an API job has the name or the plan's limit is reached."""
    declared = {entry["name"]: entry for entry in (slug.cron or [])}
    current = {job.name: job for job in ScheduledJob.objects.filter(site=site)}
    notes: list[str] = []
    for job in current.values():
        if job.source == ScheduledJob.Source.REPOSITORY and job.name not in declared:
            job.delete()
    room = site.plan.max_scheduled_jobs - ScheduledJob.objects.filter(site=site).exclude(
        name__in=list(declared), source=ScheduledJob.Source.REPOSITORY).count()
    for name, entry in declared.items():
        job = current.get(name)
        if job is not None and job.source == ScheduledJob.Source.API:
            notes.append(f"hosting.toml's job {name} is not used: the site has its own job of that name.")
            continue
        if room <= 0:
            notes.append(f"hosting.toml's job {name} is not used: the plan allows "
                         f"{site.plan.max_scheduled_jobs} scheduled jobs per site.")
            if job is not None:
                job.delete()
            continue
        room -= 1
        _take_over(site, job, entry)
    return notes


def _take_over(site: Site, job: ScheduledJob | None, entry: dict[str, str]) -> None:
    if job is None:
        ScheduledJob.objects.create(site=site, source=ScheduledJob.Source.REPOSITORY,
                                    next_run_at=next_run(entry["schedule"]), **entry)
    elif (job.schedule, job.command) != (entry["schedule"], entry["command"]):
        job.schedule, job.command = entry["schedule"], validate_command(entry["command"])
        job.next_run_at = next_run(job.schedule)
        job.save(update_fields=["schedule", "command", "next_run_at", "updated_at"])
