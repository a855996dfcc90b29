"""Beat's minute tick for scheduled jobs: each job due starts its run (or records why it skipped),
and its next time is set from its schedule; runs whose agent went away fail.

Every job is due once per time: the job's row is claimed with `skip_locked` and its next time
moves on in the same transaction, so two ticks (a slow one and the next) never start one twice.
A job whose time passed while beat was down runs once when beat is back, not once per minute missed.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sites import runs
from sites.cron import CronError
from sites.run_models import ScheduledJob
from sites.schedules import next_run

log = logging.getLogger(__name__)

MAX_JOBS_PER_TICK = 2000  # the rest are due still, and start on the next tick


def tick(sender: runs.RunSender, now: datetime | None = None) -> int:
    """Start the runs of the jobs due at `now`; returns how many jobs were due."""
    now = now or timezone.now()
    due = list(ScheduledJob.objects.filter(next_run_at__lte=now).order_by("next_run_at")
               .values_list("pk", flat=True)[:MAX_JOBS_PER_TICK])
    for job_id in due:
        try:
            _start_due(job_id, now, sender)
        except Exception:  # one job's trouble must not hold the others back
            log.exception("scheduled job could not start", extra={"job": job_id})
    runs.fail_lost_runs(now)
    return len(due)


def _start_due(job_id: int, now: datetime, sender: runs.RunSender) -> None:
    with transaction.atomic():
        job = (ScheduledJob.objects.select_for_update(skip_locked=True, of=("self",)).select_related("site")
               .filter(pk=job_id, next_run_at__lte=now).first())
        if job is None:
            return  # another tick took it, or it changed meanwhile
        try:
            job.next_run_at = next_run(job.schedule, now)
        except CronError:  # checked when saved; a rule made stricter since must not stop the tick
            log.error("scheduled job has a schedule that no longer parses", extra={"job": job.pk})
            job.next_run_at = now.replace(year=now.year + 1)
        job.save(update_fields=["next_run_at"])
        runs.start_scheduled(job, sender)
