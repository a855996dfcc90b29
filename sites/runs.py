"""One-off commands (`POST /api/v1/sites/<name>/runs/`, like `heroku run`) and the runs of
scheduled jobs: a container of the site's current release running one command to its end.

The container has the web container's contract (the release's slug read-only at /app, its config
as env, the site's uid, /data and writable paths, the plan's limits and network) but no published
port, and the plan's time limit (`run_timeout_seconds`): past it, it is killed. It runs on the host
of the site's current instance, whose /data it shares; a site without one gets a placed host.
The command is the tenant's: it is checked like a Procfile line and runs as `bash -c <command>`
inside the tenant's own container, as the release phase does; it never reaches a host shell.

A run is never started twice: the first delivery of its task claims it (a conditional UPDATE);
a run whose agent went away is failed by the scheduler's sweep (`fail_lost_runs`), so that it
does not hold its job's next runs off forever.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Iterator, Protocol

import redis

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.services import ensure_active
from core.errors import CustomerError, HostingError
from core.queue import ensure_queue_reachable
from hosting.engine import ContainerEngine
from hosting.models import Host
from hosting.placement import place_instance
from hosting.spec import LABEL_INSTANCE, ContainerSpec
from sites import streams
from sites.logstream import RunLog
from sites.models import Site
from sites.pipeline.machine import lock_site, promised
from sites.pipeline.release import release_container, with_writable_paths
from sites.run_models import Run, ScheduledJob
from sites.validation import validate_command

log = logging.getLogger(__name__)

KEEP_RUNS_PER_SITE = 500  # finished runs a site keeps (a job every minute would keep them all otherwise)
LOST_AFTER = timedelta(minutes=10)  # beyond its time limit: a run still "running" then lost its agent
NOTHING_DEPLOYED = "Nothing is deployed yet: a run starts the site's current release. Deploy first."
INTERRUPTED = "The agent of host {host} restarted during this run, which was stopped; it may have run partly."
HOST_DOWN = "Its host {host} stopped answering during this run; it may have run partly."
RUN_CONTAINER = re.compile(r"run\d+")  # the instance label of a run's container
LOST = "The platform lost this run (its host's agent stopped); it may or may not have finished."


class RunSender(Protocol):
    def run(self, run: Run) -> None:
        """Send the run's task to its host's agent once the caller's transaction commits."""


def start_run(site: Site, command, trigger: str, sender: RunSender, by=None) -> Run:
    """A one-off command of the site, queued on its host; ValidationError when it cannot start."""
    command = validate_command(command)
    with transaction.atomic():
        lock_site(site)
        ensure_active(site.organization)
        site = Site.objects.select_related("plan", "current_release__slug", "current_instance__host").get(pk=site.pk)
        problem = admission_problem(site)
        if problem:
            raise ValidationError(problem)
        ensure_queue_reachable()
        run = _queue(site, command, trigger, sender, by=by)
    audit.record(site.organization, "site.run", f"run #{run.pk}", site=site.name, by=by, command=command[:200])
    return run


def start_scheduled(job: ScheduledJob, sender: RunSender) -> Run:
    """The job's run now, or a skipped run that says why (its previous run still runs, the site is
    stopped, suspended, or at its plan's runs at once). Call it inside a transaction."""
    lock_site(job.site)
    site = Site.objects.select_related("plan", "organization", "current_release__slug",
                                       "current_instance__host").get(pk=job.site_id)
    running = Run.objects.filter(job=job, state__in=Run.ACTIVE).order_by("id").first()
    if running is not None:
        return _skip(site, job, f"run #{running.pk} of this job is still running")
    if site.organization.suspended:
        return _skip(site, job, "the organization is suspended")
    if site.desired_state == Site.DesiredState.STOPPED:
        return _skip(site, job, "the site is stopped")
    problem = admission_problem(site)
    if problem:
        return _skip(site, job, problem)
    try:
        return _queue(site, job.command, Run.Trigger.SCHEDULE, sender, job=job)
    except HostingError as exc:  # no host has room: the next run may find one
        return _skip(site, job, str(exc))


def admission_problem(site: Site) -> str:
    """Why a run of the site cannot start now, or ""."""
    if site.current_release is None:
        return NOTHING_DEPLOYED
    running = Run.objects.filter(site=site, state__in=Run.ACTIVE).count()
    if running >= site.plan.max_parallel_runs:
        return (f"The site already runs {running} commands, the most its plan allows at once; "
                "wait for one to finish.")
    return ""


def _queue(site: Site, command: str, trigger: str, sender: RunSender, by=None, job: ScheduledJob | None = None) -> Run:
    host = host_for(site)
    run = Run.objects.create(site=site, job=job, release=site.current_release, command=command, trigger=trigger,
                             host_name=host.name, timeout_seconds=site.plan.run_timeout_seconds, created_by=by)
    with RunLog(run.pk) as stream:
        stream.write(f"-----> Run #{run.pk} of {site.name} ({site.current_release.label}) on {host.name}: {command}")
    sender.run(run)
    _forget_old_runs(site)
    return run


def _skip(site: Site, job: ScheduledJob, reason: str) -> Run:
    now = timezone.now()
    reason = reason.rstrip(".")
    note = f" !     Skipped: {reason}."
    run = Run.objects.create(site=site, job=job, release=site.current_release, command=job.command,
                             trigger=Run.Trigger.SCHEDULE, state=Run.State.SKIPPED, error=f"Skipped: {reason}.",
                             log=note + "\n", timeout_seconds=site.plan.run_timeout_seconds, finished_at=now)
    log.info("scheduled run skipped: %s", reason, extra={"site": site.name, "job": job.name})
    _forget_old_runs(site)
    return run


def host_for(site: Site) -> Host:
    """The host of the site's current instance (its /data is there), while that host is up; else
    a placed one, whose /data volume of the site is its own (hosts share no disk)."""
    instance = site.current_instance
    if instance is not None and instance.host.down_since is None:
        return instance.host
    return place_instance(site.plan.memory_mb, site.plan.cpu_millicores, site.current_release.slug.runtime, promised)


def _forget_old_runs(site: Site) -> None:
    old = list(Run.objects.filter(site=site).order_by("-id").values_list("id", flat=True)[KEEP_RUNS_PER_SITE:])
    if old:
        Run.objects.filter(pk__in=old, state__in=Run.FINISHED).delete()


# --- on the agent ---------------------------------------------------------------------------------


def claim(run_id: int, task_id: str) -> Run | None:
    """The run this delivery of its task runs, or None: a command is never run twice (a migration
    that ran halfway must not start again by itself), so a redelivered message does nothing."""
    claimed = Run.objects.filter(pk=run_id, state=Run.State.QUEUED, task_id="").update(
        state=Run.State.RUNNING, task_id=task_id, started_at=timezone.now())
    if not claimed:
        return None
    return Run.objects.select_related("site__plan", "release__slug").get(pk=run_id)


def execute(run: Run, host: Host, engine: ContainerEngine) -> None:
    """Run the command to its end on this host; the outcome and the whole output go on the run."""
    site, release = run.site, run.release
    try:
        with RunLog(run.pk) as stream:
            if release is None:
                raise CustomerError("Its release was deleted before it started.")
            base, paths, _ = release_container(site, release, host, engine)
            stream.write(f"-----> Starting; the time limit is {run.timeout_seconds} s")
            result = engine.run_once(
                ContainerSpec(**base, instance=f"run{run.pk}", host_port=None,
                              command=with_writable_paths(("bash", "-c", run.command), paths)),
                timeout=run.timeout_seconds,
                on_line=lambda line: stream.write(line, from_app=True),
            )
    except CustomerError as exc:
        finish(run, Run.State.FAILED, f"Not run: {exc}")
        return
    except HostingError as exc:
        log.error("run failed to start: %s", exc, extra={"site": site.name, "run": run.pk})
        finish(run, Run.State.FAILED, f"The platform could not run it: {exc}")
        return
    except Exception:
        log.exception("run crashed", extra={"site": site.name, "run": run.pk})
        finish(run, Run.State.FAILED, f"An internal error stopped it; the platform team has been told (run #{run.pk}).")
        raise
    if result.timed_out:
        finish(run, Run.State.TIMED_OUT, f"Killed after {run.timeout_seconds} s: the plan's time limit for a run.")
    elif result.oom_killed:
        finish(run, Run.State.FAILED, f"Killed: it ran out of memory (the plan's {site.plan.memory_mb} MB).",
               result.exit_code)
    elif result.exit_code == 0:
        finish(run, Run.State.SUCCEEDED, "", 0)
    else:
        finish(run, Run.State.FAILED, f"Exited with code {result.exit_code}.", result.exit_code)


def finish(run: Run, state: str, error: str, exit_code: int | None = None) -> bool:
    """End a run that is not finished yet: its last line, outcome and output on its row, then the
    end mark for followers (after the row: a follower that sees the mark reads a finished row)."""
    summary = f"exited with code {exit_code}" if state == Run.State.SUCCEEDED else error
    line = f"-----> Run #{run.pk} {summary}" if state == Run.State.SUCCEEDED else f" !     Run #{run.pk}: {summary}"
    stream = RunLog(run.pk)
    try:
        stream.write(line)
        text = stream.text()
    except redis.RedisError:  # the outcome is kept all the same; the output was in Redis alone
        text = f"(The output was lost: the task queue did not answer when the run ended.)\n{line}\n"
    try:
        ended = Run.objects.filter(pk=run.pk, state__in=Run.ACTIVE).update(
            state=state, error=error, exit_code=exit_code, log=text, finished_at=timezone.now())
        stream.end()
    except redis.RedisError:
        pass  # followers find the row finished on their next look
    finally:
        stream.close()
    return bool(ended)


def stop_interrupted_runs(sender, host: Host, engine: ContainerEngine, **kwargs) -> int:
    """An agent that starts again (signal agent_starting): no task of it runs yet, so a run of its
    host still "running" was cut off: it fails with the reason. Every container of its host's runs
    goes: left alone, one would run past its time limit (the agent that was to kill it is gone)."""
    labelled = {container.labels.get(LABEL_INSTANCE, ""): container.name for container in engine.list_site_containers()}
    ids = [int(label[3:]) for label in labelled if RUN_CONTAINER.fullmatch(label)]
    for run_id in Run.objects.filter(pk__in=ids, host_name=host.name).values_list("pk", flat=True):
        engine.remove(labelled[f"run{run_id}"])
    interrupted = Run.objects.filter(host_name=host.name, state=Run.State.RUNNING)
    return sum(finish(run, Run.State.FAILED, INTERRUPTED.format(host=host.name)) for run in interrupted)


def fail_runs_on_down_hosts(sender, hosts: list[Host], **kwargs) -> int:
    """Signal hosts_down: the runs of a host that stopped answering fail now rather than after their
    time limit (their job's next runs are not held off); its agent removes their containers when
    it starts again."""
    failed = 0
    for host in hosts:
        for run in Run.objects.filter(host_name=host.name, state__in=Run.ACTIVE):
            failed += finish(run, Run.State.FAILED, HOST_DOWN.format(host=host.name))
    return failed


def fail_lost_runs(now: datetime | None = None) -> int:
    """Runs whose agent went away (still queued or running well past their time limit) fail."""
    now = now or timezone.now()
    lost = 0
    for run in Run.objects.filter(state__in=Run.ACTIVE).only("pk", "created_at", "started_at", "timeout_seconds"):
        since = run.started_at or run.created_at
        if since + timedelta(seconds=run.timeout_seconds) + LOST_AFTER < now:
            lost += finish(run, Run.State.FAILED, LOST)
    return lost


# --- reading the output ---------------------------------------------------------------------------

OUTPUT_UNAVAILABLE = "(The output of a running command cannot be read while the task queue is down.)\n"


def output_so_far(run: Run) -> str:
    """The whole output of a finished run; what a running one printed until now."""
    if run.finished:
        return run.log
    try:
        with RunLog(run.pk) as stream:
            return stream.text()
    except (redis.ConnectionError, redis.TimeoutError):
        return OUTPUT_UNAVAILABLE


def follow_output(run: Run, environ: dict) -> streams.WatchedStream:
    """The run's output as a response body, line by line until it ends, held to the organization's
    cap of open streams (TooManyStreams), the client and the streams' time limit."""
    slot = streams.take_slot(run.site.organization_id)
    return streams.watched(environ, slot, _output_chunks(run.pk, run.timeout_seconds))


def _output_chunks(run_id: int, timeout_seconds: int) -> Iterator[bytes | None]:
    def finished() -> bool:
        return Run.objects.filter(pk=run_id, state__in=Run.FINISHED).exists()

    # The run may wait in its host's queue first: follow it for its time limit and then some.
    with RunLog(run_id) as stream:
        for line in stream.follow(finished, timeout=timeout_seconds + LOST_AFTER.total_seconds(), quiet=True):
            yield None if line is None else (line + "\n").encode()
