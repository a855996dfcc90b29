"""Celery tasks of one-off commands and scheduled jobs: thin wrappers over sites/runs.py and
sites/scheduler.py, and the `RunSender`, the only code that sends them (on commit).

`sites.agent.run_command` runs on the run's host's agent (queue `host.<name>`); beat's
`sites.tick_schedules` runs on the control worker. Names never change (messages in flight).
"""
from __future__ import annotations

from celery import shared_task

from core.tasks import PlatformTask
from hosting.engine import ContainerEngine
from hosting.models import Host
from sites import runs, scheduler
from sites.run_models import Run


class CeleryRunSender:
    def run(self, run: Run) -> None:
        run_command.apply_async_on_commit(args=[run.pk, run.host_name],
                                          queue=Host.objects.get(name=run.host_name).queue)


SENDER = CeleryRunSender()


# No retries: a command is never run twice (runs.claim); a run that could not start fails with the reason.
@shared_task(base=PlatformTask, bind=True, name="sites.agent.run_command", autoretry_for=(), max_retries=0)
def run_command(self, run_id: int, host_name: str) -> None:
    run = runs.claim(run_id, self.request.id or f"run-{run_id}")
    if run is None:
        return
    with ContainerEngine() as engine:
        runs.execute(run, Host.objects.get(name=host_name), engine)


@shared_task(base=PlatformTask, name="sites.tick_schedules")
def tick_schedules() -> int:
    """Beat, every minute: the scheduled jobs due now start their runs."""
    return scheduler.tick(SENDER)
