"""The deploy pipeline's control side: deployments are created here, moved between states, and
handed to the hosts' agents as tasks that carry ids only.

    push / archive:  queued -> building (agent: build) -> releasing (agent: start) -> succeeded
    config, rollback, restart, start:       releasing (agent: start) -> succeeded
    any step:                                                         -> failed (with the reason)

Nothing that serves changes until the new instance answers: the switch (finish_deployment)
happens last, and a failure before it leaves the old instance and its route alone.
"""
from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.services import OrganizationSuspended, ensure_active
from core.errors import QueueUnavailable
from hosting.models import Host, Instance
from hosting.placement import place_instance
from core.queue import ensure_queue_reachable, send_now
from proxy import services as proxy
from sites.logstream import DeploymentLog
from sites.models import Deployment, Release, Site, Slug

log = logging.getLogger(__name__)


def _log(deployment: Deployment, line: str) -> None:
    stream = DeploymentLog(deployment.id)
    try:
        stream.write(line)
    finally:
        stream.close()


def route_group(site: Site) -> str:
    return site.route_group


def route_live(site: Site, instance: Instance) -> None:
    """Point the site's names at `instance` alone, which must be the site's own instance that just
    answered (its address as the fleet reported it now). A switch replaces the old address. A
    suspended organization's site keeps its suspended page."""
    status = "suspended" if _suspended(site) else "live"
    proxy.set_routes(route_group(site), routed_hostnames(site), [instance.upstream], status,
                     https_redirect=site.force_https, hsts=site.hsts)


def route_without_instance(site: Site, status: str) -> None:
    """The site's names show a status page (starting, stopped) and reach no address."""
    proxy.set_routes(route_group(site), routed_hostnames(site), [], "suspended" if _suspended(site) else status)


def routed_hostnames(site: Site) -> list[str]:
    """The default domain and the verified custom domains; unverified ones are never routed."""
    return list(site.domains.filter(verified_at__isnull=False).values_list("hostname", flat=True))


def show_starting_page(site: Site) -> None:
    """A site with nothing serving shows the starting page while a deployment runs."""
    if site.current_instance_id is None:
        route_without_instance(site, "starting")


def source_archive_path(deployment_id: int, suffix: str) -> Path:
    return Path(settings.ARCHIVES_DIR) / f"{deployment_id}{suffix}"


def deploy_source(site: Site, trigger: str, source: str, write_archive) -> Deployment:
    """Create a deployment that builds a source archive; `write_archive(path_for_suffix)` stores it.

    The Deployment row exists before any task is sent, and the task goes only after commit.
    """
    from sites import tasks

    ensure_active(site.organization)  # every deployment starts here or in roll_out
    ensure_queue_reachable()
    host = place_instance(site.plan.memory_mb, site.plan.cpu_millicores)
    with transaction.atomic():
        deployment = Deployment.objects.create(site=site, trigger=trigger, source=source[:200], host_name=host.name)
        _log(deployment, f"-----> Deployment #{deployment.id} of {site.name}: {source}")
        show_starting_page(site)
        write_archive(lambda suffix: source_archive_path(deployment.id, suffix))
        send_on_commit(deployment, tasks.build, host)
    return deployment


def send_on_commit(deployment: Deployment, task, host: Host) -> None:
    """Send the deployment's first task once its row is committed. When the queue went away since
    `ensure_queue_reachable`, the row is failed instead of waiting "queued" for a task nobody sent,
    and the caller hears QueueUnavailable (503)."""

    def send() -> None:
        try:
            send_now(task, [deployment.id, host.name], host.queue)
        except QueueUnavailable:
            # Not through fail(): its log lives in Redis, which is what is missing.
            Deployment.objects.filter(pk=deployment.pk).exclude(state__in=Deployment.FINISHED).update(
                state=Deployment.State.FAILED, error=QueueUnavailable.MESSAGE, finished_at=timezone.now())
            _page_after_failure(deployment.site_id)
            raise

    transaction.on_commit(send)


def claim_build(deployment_id: int, retrying: bool) -> Deployment | None:
    """The deployment for this delivery of its build task to build, or None when it must do nothing.

    The first delivery claims it (queued -> building in one conditional UPDATE); a duplicated or
    redelivered message finds it claimed. Our own retry goes on only while it is still building:
    an agent that started again may have failed it meanwhile (sites.recovery).
    """
    claimed = Deployment.objects.filter(id=deployment_id, state=Deployment.State.QUEUED).update(
        state=Deployment.State.BUILDING, started_at=timezone.now())
    deployment = Deployment.objects.select_related("site__plan").get(pk=deployment_id)
    if claimed or (retrying and deployment.state == Deployment.State.BUILDING):
        return deployment
    return None


def claim_start(deployment_id: int, task_id: str, retrying: bool) -> Deployment | None:
    """The deployment whose release this delivery of the start task starts, or None.

    The first delivery writes its task id on the releasing deployment; a duplicated or redelivered
    message finds it taken. Our own retry (the same task id) goes on while it is still releasing.
    """
    claimed = Deployment.objects.filter(id=deployment_id, state=Deployment.State.RELEASING, task_id="").update(
        task_id=task_id)
    deployment = Deployment.objects.select_related("site__plan", "release__slug").get(pk=deployment_id)
    if deployment.finished:
        return None
    if claimed or (retrying and deployment.task_id == task_id):
        return deployment
    return None


def create_release(site: Site, slug: Slug, encrypted_config: str, description: str) -> Release:
    """The next release number of the site; numbers are unique per site (retried on a race)."""
    with transaction.atomic():
        Site.objects.select_for_update().filter(pk=site.pk).first()  # serialise numbering per site
        latest = Release.objects.filter(site=site).aggregate(v=Max("version"))["v"] or 0
        return Release.objects.create(
            site=site, version=latest + 1, slug=slug, encrypted_config=encrypted_config, description=description[:200]
        )


def roll_out(site: Site, trigger: str, release: Release, description: str) -> Deployment:
    """A deployment that starts `release` without a build, then switches to it."""
    from sites import tasks

    ensure_active(site.organization)
    ensure_queue_reachable()
    host = place_instance(site.plan.memory_mb, site.plan.cpu_millicores)
    with transaction.atomic():
        deployment = Deployment.objects.create(
            site=site, trigger=trigger, source=description[:200], release=release,
            state=Deployment.State.RELEASING, started_at=timezone.now(), host_name=host.name,
        )
        _log(deployment, f"-----> {description}: starting {release.label} on {host.name}")
        show_starting_page(site)
        send_on_commit(deployment, tasks.start_release, host)
    return deployment


def after_build(deployment: Deployment, release: Release, host_name: str) -> None:
    """The build made a release: start it (on the same host, which has the slug unpacked)."""
    from sites import tasks

    if _suspended(deployment.site):
        fail(deployment, "Not started: the organization was suspended meanwhile.")
        return
    # Only a deployment still building moves on: one failed meanwhile (its agent restarted while
    # this build ran on) starts nothing.
    moved = Deployment.objects.filter(pk=deployment.pk, state=Deployment.State.BUILDING).update(
        release=release, state=Deployment.State.RELEASING, build_finished_at=timezone.now()
    )
    if not moved:
        return
    _log(deployment, f"-----> Released {release.label}; starting it")
    tasks.start_release.apply_async(args=[deployment.id, host_name], queue=Host.objects.get(name=host_name).queue)
    forget_old_slugs(deployment.site)


def forget_old_slugs(site: Site) -> None:
    """Every host drops the tarballs of the site's slugs that no kept release uses any more."""
    from hosting.models import Host
    from sites import tasks
    from sites.slugs import slugs_to_forget

    shas = slugs_to_forget(site)
    for host in Host.objects.all() if shas else []:
        tasks.forget_slugs.apply_async(args=[shas], queue=host.queue)


def finish_deployment(deployment_id: int, instance_id: int) -> None:
    """Switch the site's routes to the new instance, then drain and stop the old one."""
    from sites import tasks

    with transaction.atomic():
        deployment = Deployment.objects.select_related("site", "release").get(pk=deployment_id)
        site = Site.objects.select_for_update().get(pk=deployment.site_id)
        instance = Instance.objects.select_related("host").get(pk=instance_id)
        if Deployment.objects.filter(pk=deployment_id, state__in=Deployment.FINISHED).exists():
            return  # failed meanwhile (its agent restarted): its instance is not to go live
        newer = Deployment.objects.filter(site=site, state=Deployment.State.SUCCEEDED, id__gt=deployment.id).exists()
        stopped = site.desired_state == Site.DesiredState.STOPPED and deployment.trigger != Deployment.Trigger.START
        suspended = _suspended(site)  # a deployment that was under way when staff suspended the organization
        if newer or stopped or suspended:
            reason = ("a newer deployment went live first" if newer else "the site was stopped meanwhile" if stopped
                      else "the organization was suspended meanwhile")
            tasks.stop_instance.apply_async_on_commit(args=[instance.id], queue=instance.host.queue)
            fail(deployment, f"Not switched: {reason}.")
            return
        old = site.current_instance
        # The edge serves the new instance once this transaction commits (no reload).
        route_live(site, instance)
        site.current_release = deployment.release
        site.current_instance = instance
        site.desired_state = Site.DesiredState.RUNNING
        site.save(update_fields=["current_release", "current_instance", "desired_state"])
    if old is not None and old.pk != instance.pk:
        tasks.stop_instance.apply_async(args=[old.pk], queue=old.host.queue, countdown=settings.DRAIN_SECONDS)
    from sites.services import site_url

    succeed(deployment, f"-----> {deployment.release.label} is live at {site_url(site)}")


def _finish(deployment: Deployment, state: str, line: str, error: str = "") -> None:
    _log(deployment, line)
    stream = DeploymentLog(deployment.id)
    try:
        text = stream.text()
    finally:
        stream.close()
    Deployment.objects.filter(pk=deployment.pk).update(
        state=state, error=error, log=text, finished_at=timezone.now()
    )
    transaction.on_commit(lambda: _end_log(deployment.id))  # a follower then reads the row as finished


def _end_log(deployment_id: int) -> None:
    stream = DeploymentLog(deployment_id)
    try:
        stream.end()
    finally:
        stream.close()


def succeed(deployment: Deployment, line: str) -> None:
    _finish(deployment, Deployment.State.SUCCEEDED, line)


def fail(deployment: Deployment, reason: str) -> None:
    """Mark the deployment failed with a reason the customer can act on; nothing serving changes."""
    if Deployment.objects.filter(pk=deployment.pk, state__in=Deployment.FINISHED).exists():
        return
    record_failure(deployment, reason)


def record_failure(deployment: Deployment, reason: str) -> None:
    """Write the failure into the deployment's log and row (for a caller that claimed it failed)."""
    lines = reason.strip().splitlines() or ["failed"]
    _log(deployment, f" !     Deployment failed: {lines[0]}")
    for line in lines[1:]:
        _log(deployment, f" !     {line}")
    _finish(deployment, Deployment.State.FAILED, f" !     Deployment #{deployment.pk} failed.", error=reason.strip())
    _page_after_failure(deployment.site_id)
    log.warning("deployment failed: %s", lines[0], extra={"site": deployment.site_id, "deployment": deployment.pk})


def _suspended(site: Site) -> str:
    """Why the site's organization is suspended, or '' when it is not."""
    try:
        ensure_active(site.organization)
    except OrganizationSuspended as exc:
        return str(exc)
    return ""


def idle_page(site: Site) -> str:
    """The page a site shows with nothing serving: a suspended organization's stays suspended."""
    return "suspended" if _suspended(site) else "stopped"


def _page_after_failure(site_id: int) -> None:
    """Nothing serving and the deployment failed: the stopped page for a site that ran before,
    else no route at all (an unknown host)."""
    site = Site.objects.filter(pk=site_id).first()
    if site is None or site.current_instance_id is not None:
        return
    ran_before = Deployment.objects.filter(site=site, state__in=Deployment.FINISHED).exclude(
        state=Deployment.State.FAILED).exists()
    if ran_before or _suspended(site):
        route_without_instance(site, "stopped")  # a suspended organization's site: the suspended page
    else:
        proxy.remove_routes(route_group(site))


def stop_later(site: Site) -> None:
    """Show the stopped page for the site and stop its instance."""
    from sites import tasks

    transaction.on_commit(lambda: tasks.stop_site.delay(site.pk))


def stop_site(site_id: int) -> None:
    from sites import tasks

    site = Site.objects.select_related("current_instance__host").filter(pk=site_id).first()
    if site is None:
        return  # deleted meanwhile: its routes went with it
    route_without_instance(site, "stopped")
    instance = site.current_instance
    if instance is not None:
        Site.objects.filter(pk=site.pk).update(current_instance=None)
        tasks.stop_instance.apply_async(args=[instance.pk], queue=instance.host.queue)


def delete_site(site: Site) -> None:
    """Delete the site. Its names stop routing before this returns, so before the API answers;
    what it leaves on hosts and in the repository store is purged by tasks keyed by its uuid and
    its own instances' names (never by its name, which another site may hold by then).

    Every host gets the purge (a host that is down runs it when it comes back): builds and
    instances may have left something on any of them.
    """
    from hosting.models import Host
    from sites import tasks

    ensure_queue_reachable()  # the purge goes by task: no deleted site leaves its containers behind
    payload: dict = {}

    def purge() -> None:
        payload["sent"] = True
        tasks.purge_site_repository.delay(payload["site_uuid"])
        for host in Host.objects.all():
            tasks.purge_site_on_host.apply_async(kwargs={**payload["host"], "host_name": host.name}, queue=host.queue)

    try:
        with transaction.atomic():
            # A deployment finishing now locks the row too: it switched before this (and its
            # route is removed here) or it finds the site gone and switches nothing.
            if Site.objects.select_for_update().filter(pk=site.pk).first() is None:
                return
            payload.update(site_uuid=site.uuid.hex, host=_leftovers(site))
            proxy.remove_routes(route_group(site))  # the edge drops them on commit, before the purge
            for hostname in site.domains.filter(is_default=False).values_list("hostname", flat=True):
                proxy.withdraw_verification_token(hostname)
                proxy.remove_certificate(hostname)
            site.delete()
            transaction.on_commit(purge)
    except Exception:
        # Committed, but the edge refused the change and the purge did not go: send it now (the
        # caller still hears of the edge's failure).
        if payload and "sent" not in payload and not Site.objects.filter(uuid=payload["site_uuid"]).exists():
            purge()
        raise


def _leftovers(site: Site) -> dict:
    """What a host may hold of the site: its own instances (named after its deployments, whose ids
    no other site has), its volume and cache (by uuid) and its slugs."""
    own = {f"-d{pk}" for pk in site.deployments.values_list("pk", flat=True)}
    names = Instance.objects.filter(site_label=site.name).values_list("name", flat=True)
    return {
        "site_name": site.name,
        "site_uuid": site.uuid.hex,
        "instances": [name for name in names if any(name.endswith(suffix) for suffix in own)],
        "slugs": list(site.slugs.values_list("sha256", flat=True)),
    }


def current_config(site: Site) -> str:
    """The site's env vars now, encrypted, for a new release's snapshot."""
    from sites.config_crypto import encrypt_config
    from sites.services import config_of

    return encrypt_config(config_of(site))
