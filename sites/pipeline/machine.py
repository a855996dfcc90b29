"""The state machine of a Deployment, in one place. No Celery here: what runs next is handed to a
`Sender` (sites.pipeline.tasks provides the one that sends Celery tasks on commit).

    push / archive:        queued -> building (agent: build) -> releasing (agent: start) -> succeeded
    config, rollback, restart, start:           queued -> releasing (agent: start) -> succeeded
    any step:                                                                          -> failed

One deployment of a site runs at a time: a new one waits "queued" while another of its site is
building or releasing, and the end of each (succeeded or failed) starts the oldest waiting one, so
changes apply in the order they were made. A waiting roll-out makes its release when its turn
comes, on top of what went live before it (a config change after a push keeps the push's code).

Nothing that serves changes until the new instance answers: the switch (`switch_to`) happens
last, under the site's row lock, and a failure before it leaves the old instance and its route
alone. After the switch the old instance drains for DRAIN_SECONDS, then stops.
"""
from __future__ import annotations

import logging
import traceback
from typing import Callable, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from accounts.services import ensure_active
from core.errors import QueueUnavailable
from core.queue import ensure_queue_reachable
from hosting.models import Host, Instance
from hosting.placement import place_instance
from hosting.runtimes import CATALOG
from sites.config_crypto import config_of, encrypt_config
from sites.database_env import database_env, database_host
from sites.logstream import append_to_log, close_log, end_log
from sites.models import Deployment, Release, Site, Slug
from sites.pipeline import archives
from sites.pipeline.routes import (
    page_after_failure,
    route_live,
    route_without_instance,
    show_starting_page,
    suspended_reason,
)
from sites.schedules import adopt_repository_jobs
from sites.slugs import slugs_to_forget

log = logging.getLogger(__name__)

ACTIVE = (Deployment.State.BUILDING, Deployment.State.RELEASING)
NOTHING_DEPLOYED = "Nothing is deployed yet; the next push deploys with the site's config."
INTERNAL_ERROR = "An internal error stopped this deployment; the platform team has been told (reference #{id})."


class Sender(Protocol):
    """What the machine asks to run next. Every send waits for the caller's transaction to commit."""

    def first_step(self, deployment: Deployment, build: bool, refused: Callable[[], None]) -> None:
        """Send the build (or the start) of a deployment whose turn came; `refused()` when the
        queue does not take it."""

    def start(self, deployment: Deployment) -> None: ...

    def switch(self, deployment: Deployment, instance: Instance) -> None: ...

    def stop_instance(self, instance: Instance, delay: int = 0) -> None: ...

    def stop_site(self, site: Site) -> None: ...

    def forget_slugs(self, shas: list[str], hosts: list[Host]) -> None: ...


# --- new deployments and their turn --------------------------------------------------------------


def _admit(site: Site, target: Release | None = None) -> Host:
    """Every deployment starts here: the organization may deploy, the queue is there, a host has
    room and the image of the runtime it will start (a host without it gets no work)."""
    ensure_active(site.organization)
    ensure_queue_reachable()
    # A site with a database runs on its database's host only (sites/database_env.py); room for the
    # web instance and the process containers that follow it there (sites/formation.py).
    pinned = database_host(site)
    containers = 1 + sum(site.formation.values())
    return place_instance(site.plan.memory_mb * containers, site.plan.cpu_millicores * containers,
                          _runtime_of(site, target), promised, **({"only_on": pinned} if pinned else {}))


def promised() -> dict[str, tuple[int, int]]:
    """What deployments under way were placed on each host and may not have started yet: their
    plans' limits, so deployments placed one after another (a drain, a failover) spread out rather
    than all landing on the host that had the most room. A started one is also an Instance for a
    few seconds, counted twice: placement errs on the side of room."""
    rows = Deployment.objects.exclude(state__in=Deployment.FINISHED).values("host_name").annotate(
        memory=Sum("site__plan__memory_mb"), millicores=Sum("site__plan__cpu_millicores"))
    return {row["host_name"]: (row["memory"] or 0, row["millicores"] or 0) for row in rows}


def _runtime_of(site: Site, target: Release | None) -> str | None:
    """The runtime the deployment starts: the site's own, else (auto) the slug it rolls out. An
    auto site's build detects its runtime later: only the OS image is asked for then."""
    if site.runtime in CATALOG:
        return site.runtime
    runtime = target.slug.runtime if target is not None else None
    return runtime if runtime in CATALOG else None


def deploy_source(site: Site, trigger: str, source: str, write_archive, sender: Sender, by=None) -> Deployment:
    """A deployment that builds a source archive; `write_archive(path_for_suffix)` stores it.

    The archive is written first, under a staging name: placement holds its host's row lock until
    the deployment row (its promise of room) commits, and writing a large archive meanwhile would
    hold every other placement on that host. The Deployment row exists before any task is sent,
    and the task goes only after commit."""
    staged, suffix = archives.stage(write_archive)
    try:
        with transaction.atomic():
            lock_site(site)
            host = _admit(site)
            deployment = Deployment.objects.create(site=site, trigger=trigger, source=source[:200],
                                                   host_name=host.name, created_by=by)
            append_to_log(deployment.id, f"-----> Deployment #{deployment.id} of {site.name}: {source}")
            staged.rename(archives.archive_path(deployment.id, suffix))
            dispatch_next(site.pk, sender)
    finally:
        staged.unlink(missing_ok=True)  # refused: nothing is kept (a rename left nothing here)
    return deployment


def roll_out(site: Site, trigger: str, description: str, sender: Sender, target: Release | None = None,
             by=None) -> Deployment:
    """A deployment that starts a release without a build, then switches to it. Its release is
    made when its turn comes: the current one (restart, start), the current code with the config
    then (config), or `target`'s code with the config then (rollback)."""
    with transaction.atomic():
        lock_site(site)
        host = _admit(site, target or site.current_release)
        deployment = Deployment.objects.create(site=site, trigger=trigger, source=description[:200], release=target,
                                               host_name=host.name, created_by=by)
        append_to_log(deployment.id, f"-----> {description}: queued for {host.name}")
        dispatch_next(site.pk, sender)
    return deployment


def lock_site(site: Site) -> None:
    """The site's row lock, taken first by whoever changes its deployments or config (rows that
    reference the site lock it too: taking it later in the same transaction would deadlock)."""
    Site.objects.select_for_update().filter(pk=site.pk).first()


def dispatch_next(site_id: int, sender: Sender) -> Deployment | None:
    """Start the site's oldest waiting deployment when none of its deployments runs."""
    with transaction.atomic():
        site = Site.objects.select_for_update(of=("self",)).select_related("current_release").filter(
            pk=site_id).first()
        if site is None or Deployment.objects.filter(site=site, state__in=ACTIVE).exists():
            return None
        deployment = Deployment.objects.filter(site=site, state=Deployment.State.QUEUED).order_by("id").first()
        if deployment is None:
            return None
        show_starting_page(site)
        if deployment.trigger in (Deployment.Trigger.PUSH, Deployment.Trigger.ARCHIVE):
            deployment.state = Deployment.State.BUILDING
        else:
            deployment.release = _release_to_start(site, deployment)
            if deployment.release is None:
                # (fail starts the next one in line)
                fail(deployment, NOTHING_DEPLOYED, sender)
                return None
            deployment.state = Deployment.State.RELEASING
            append_to_log(deployment.id, f"-----> Starting {deployment.release.label} on {deployment.host_name}")
        deployment.started_at = timezone.now()
        deployment.save(update_fields=["state", "release", "started_at"])
        sender.first_step(deployment, deployment.state == Deployment.State.BUILDING,
                          refused=lambda: _refused(deployment))
        return deployment


def _release_to_start(site: Site, deployment: Deployment) -> Release | None:
    current = site.current_release
    if deployment.trigger == Deployment.Trigger.ROLLBACK and deployment.release is not None:
        return create_release(site, deployment.release.slug, current_config(site), deployment.source)
    if deployment.trigger == Deployment.Trigger.CONFIG:
        return None if current is None else create_release(site, current.slug, current_config(site),
                                                           deployment.source)
    return current


def _refused(deployment: Deployment) -> None:
    """The queue did not take the first task: the row fails at once (not through fail(): its log
    lives in Redis, which is what is missing) rather than waiting for a task nobody sent."""
    Deployment.objects.filter(pk=deployment.pk).exclude(state__in=Deployment.FINISHED).update(
        state=Deployment.State.FAILED, error=QueueUnavailable.MESSAGE, finished_at=timezone.now())
    page_after_failure(deployment.site_id)


# --- the claims: which delivery of a task does the work -------------------------------------------


def claim_build(deployment_id: int, task_id: str) -> Deployment | None:
    """The deployment this delivery of its build task builds, or None when it must do nothing.

    The first delivery writes its task id on the building deployment (one conditional UPDATE).
    A delivery with the same task id is our own retry or a redelivery: a message comes back only
    when the agent that held it went away without finishing (visibility_timeout is longer than any
    build), so nobody builds it any more and this delivery builds it again from its archive (build
    names are deterministic and an earlier try's leftovers are removed first). Another task id, or
    a deployment that ended meanwhile (an agent that started again failed it), does nothing.
    """
    claimed = Deployment.objects.filter(
        # QUEUED: a build message sent by an earlier version, which queued nothing.
        id=deployment_id, state__in=[Deployment.State.QUEUED, Deployment.State.BUILDING], task_id="",
    ).update(state=Deployment.State.BUILDING, task_id=task_id, started_at=timezone.now())
    deployment = Deployment.objects.select_related("site__plan").get(pk=deployment_id)
    if deployment.state != Deployment.State.BUILDING:
        return None
    if claimed or deployment.task_id == task_id:
        return deployment
    return None


def claim_start(deployment_id: int, task_id: str, retrying: bool) -> Deployment | None:
    """The deployment whose release this delivery of the start task starts, or None.

    The first delivery writes its task id on the releasing deployment; a duplicated or
    redelivered message finds it taken. Our own retry (the same task id) goes on while it is still releasing.
    """
    claimed = Deployment.objects.filter(id=deployment_id, state=Deployment.State.RELEASING, task_id="").update(
        task_id=task_id)
    deployment = Deployment.objects.select_related("site__plan", "release__slug").get(pk=deployment_id)
    if deployment.finished:
        return None
    if claimed or (retrying and deployment.task_id == task_id):
        return deployment
    return None


# --- releases ------------------------------------------------------------------------------------


def current_config(site: Site) -> str:
    """The site's env vars now, encrypted, for a new release's snapshot."""
    return encrypt_config({**config_of(site), **database_env(site)})


def create_release(site: Site, slug: Slug, encrypted_config: str, description: str) -> Release:
    """The next release number of the site; numbers are unique per site (retried on a race)."""
    with transaction.atomic():
        lock_site(site)  # serialise numbering per site
        latest = Release.objects.filter(site=site).aggregate(v=Max("version"))["v"] or 0
        return Release.objects.create(
            site=site, version=latest + 1, slug=slug, encrypted_config=encrypted_config, description=description[:200]
        )


def after_build(deployment: Deployment, slug: Slug, host_name: str, sender: Sender) -> None:
    """The build made a slug: release it with the config now and start it (on the same host,
    which has the slug unpacked)."""
    if suspended_reason(deployment.site):
        fail(deployment, "Not started: the organization was suspended meanwhile.", sender)
        return
    site = deployment.site
    with transaction.atomic():
        release = create_release(site, slug, current_config(site), f"Deploy {deployment.source[:40]}")
        # Only a deployment still building moves on: one failed meanwhile (its agent restarted while
        # this build ran on) starts nothing.
        moved = Deployment.objects.filter(pk=deployment.pk, state=Deployment.State.BUILDING).update(
            release=release, state=Deployment.State.RELEASING, build_finished_at=timezone.now(), task_id="")
        if not moved:
            return
        deployment.release = release
        append_to_log(deployment.id, f"-----> Released {release.label}; starting it")
        sender.start(deployment)
        shas = slugs_to_forget(site)
        if shas:  # every host drops the tarballs of slugs that no kept release uses any more
            sender.forget_slugs(shas, list(Host.objects.all()))


# --- the switch and the drain --------------------------------------------------------------------


def switch_to(deployment_id: int, instance_id: int, sender: Sender) -> None:
    """The new instance answers: route the site to it, then drain and stop the old one. A newer
    deployment that went live first, a stop or a suspension meanwhile: this one does not switch,
    its instance stops and it fails with the reason."""
    with transaction.atomic():
        deployment = Deployment.objects.select_related("site", "release").get(pk=deployment_id)
        site = Site.objects.select_for_update().get(pk=deployment.site_id)
        instance = Instance.objects.select_related("host").get(pk=instance_id)
        if Deployment.objects.filter(pk=deployment_id, state__in=Deployment.FINISHED).exists():
            return  # failed meanwhile (its agent restarted): its instance is not to go live
        reason = _why_not_switch(site, deployment)
        if reason:
            sender.stop_instance(instance)
            fail(deployment, f"Not switched: {reason}.", sender)
            return
        old = site.current_instance
        # The edge serves the new instance once this transaction commits (no reload).
        route_live(site, instance)
        site.current_release = deployment.release
        site.current_instance = instance
        site.desired_state = Site.DesiredState.RUNNING
        site.save(update_fields=["current_release", "current_instance", "desired_state"])
        # The live release's hosting.toml [[cron]] jobs are the site's repository jobs from now on.
        append_to_log(deployment.id, *adopt_repository_jobs(site, deployment.release.slug))
        if old is not None and old.pk != instance.pk:
            sender.stop_instance(old, delay=settings.DRAIN_SECONDS)  # the drain
    succeed(deployment, f"-----> {deployment.release.label} is live at {site.url}", sender)


def _why_not_switch(site: Site, deployment: Deployment) -> str:
    if Deployment.objects.filter(site=site, state=Deployment.State.SUCCEEDED, id__gt=deployment.id).exists():
        return "a newer deployment went live first"
    if site.desired_state == Site.DesiredState.STOPPED and deployment.trigger != Deployment.Trigger.START:
        return "the site was stopped meanwhile"
    if suspended_reason(site):  # a deployment that was under way when staff suspended the organization
        return "the organization was suspended meanwhile"
    return ""


# --- the end: succeeded or failed, then the site's next deployment --------------------------------


def _finish(deployment: Deployment, state: str, line: str, sender: Sender, error: str = "",
            internal_error: str = "") -> None:
    text = close_log(deployment.id, line)
    Deployment.objects.filter(pk=deployment.pk).update(
        state=state, error=error, internal_error=internal_error, log=text, finished_at=timezone.now())
    transaction.on_commit(lambda: end_log(deployment.id))  # a follower then reads the row as finished
    dispatch_next(deployment.site_id, sender)


def succeed(deployment: Deployment, line: str, sender: Sender) -> None:
    _finish(deployment, Deployment.State.SUCCEEDED, line, sender)


def fail(deployment: Deployment, reason: str, sender: Sender, internal_error: str = "") -> None:
    """Mark the deployment failed with a reason the customer can act on; nothing serving changes."""
    if Deployment.objects.filter(pk=deployment.pk, state__in=Deployment.FINISHED).exists():
        return
    record_failure(deployment, reason, sender, internal_error)


def fail_internally(deployment: Deployment, sender: Sender) -> None:
    """A bug stopped the deployment (call it while handling the exception): the customer reads a
    reference, staff read the traceback on the deployment (admin)."""
    log.exception("deployment step crashed", extra={"site": deployment.site_id, "deployment": deployment.pk})
    fail(deployment, INTERNAL_ERROR.format(id=deployment.pk), sender, internal_error=traceback.format_exc())


def record_failure(deployment: Deployment, reason: str, sender: Sender, internal_error: str = "") -> None:
    """Write the failure into the deployment's log and row (for a caller that claimed it failed)."""
    lines = reason.strip().splitlines() or ["failed"]
    append_to_log(deployment.id, f" !     Deployment failed: {lines[0]}", *(f" !     {line}" for line in lines[1:]))
    _finish(deployment, Deployment.State.FAILED, f" !     Deployment #{deployment.pk} failed.", sender,
            error=reason.strip(), internal_error=internal_error)
    page_after_failure(deployment.site_id)
    log.warning("deployment failed: %s", lines[0], extra={"site": deployment.site_id, "deployment": deployment.pk})


# --- stopping ------------------------------------------------------------------------------------


def stop_site(site_id: int, sender: Sender) -> None:
    """The site shows its stopped page and its instance stops."""
    with transaction.atomic():
        site = Site.objects.select_for_update(of=("self",)).select_related("current_instance__host").filter(
            pk=site_id).first()
        if site is None:
            return  # deleted meanwhile: its routes went with it
        route_without_instance(site, "stopped")
        instance = site.current_instance
        if instance is not None:
            Site.objects.filter(pk=site.pk).update(current_instance=None)
            sender.stop_instance(instance)
