"""Celery tasks of one-off commands and scheduled jobs: thin wrappers over sites/runs.py and
sites/scheduler.py, and the `RunSender`, the only code that sends them (on commit).

`sites.agent.run_command` runs on the run's host's agent (queue `host.<name>`); beat's
`sites.tick_schedules` runs on the control worker. Names never change (messages in flight).
"""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.db import connection

from core.tasks import PlatformTask
from hosting.engine import ContainerEngine
from hosting.models import Host
from sites import runs, scheduler
from sites.run_models import Run

log = logging.getLogger(__name__)


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
    # A run may last its plan's whole time limit (an hour on Pro): it runs in a thread of its own, so
    # that it does not hold one of the agent's few task slots (deployments, stops) all that time. An
    # agent that stops meanwhile cuts it off; its next start fails the run (runs.stop_interrupted_runs).
    threading.Thread(target=_execute, args=(run, host_name), name=f"run-{run_id}", daemon=True).start()


def _execute(run: Run, host_name: str) -> None:
    try:
        with ContainerEngine() as engine:
            runs.execute(run, Host.objects.get(name=host_name), engine)
    except Exception:  # runs.execute recorded the failure on the run; the thread has nobody else to tell
        log.exception("run crashed", extra={"run": run.pk, "host": host_name})
    finally:
        connection.close()  # this thread's own database connection


@shared_task(base=PlatformTask, name="sites.tick_schedules")
def tick_schedules() -> int:
    """Beat, every minute: the scheduled jobs due now start their runs."""
    return scheduler.tick(SENDER)
