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
from hosting.models import Instance
from hosting.placement import place_instance
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


def routed_hostnames(site: Site) -> list[str]:
    """The default domain and the verified custom domains; unverified ones are never routed."""
    return list(site.domains.filter(verified_at__isnull=False).values_list("hostname", flat=True))


def show_starting_page(site: Site) -> None:
    """A site with nothing serving shows the starting page while a deployment runs."""
    if site.current_instance_id is None:
        proxy.set_routes(site.name, routed_hostnames(site), [], "starting")


def source_archive_path(deployment_id: int, suffix: str) -> Path:
    return Path(settings.ARCHIVES_DIR) / f"{deployment_id}{suffix}"


def deploy_source(site: Site, trigger: str, source: str, write_archive) -> Deployment:
    """Create a deployment that builds a source archive; `write_archive(path_for_suffix)` stores it.

    The Deployment row exists before any task is sent, and the task goes only after commit.
    """
    from sites import tasks

    ensure_active(site.organization)  # every deployment starts here or in roll_out
    host = place_instance(site.plan.memory_mb, site.plan.cpu_millicores)
    with transaction.atomic():
        deployment = Deployment.objects.create(site=site, trigger=trigger, source=source[:200])
        show_starting_page(site)
        write_archive(lambda suffix: source_archive_path(deployment.id, suffix))
        _log(deployment, f"-----> Deployment #{deployment.id} of {site.name}: {source}")
        tasks.build.apply_async_on_commit(args=[deployment.id, host.name], queue=host.queue)
    return deployment


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
    host = place_instance(site.plan.memory_mb, site.plan.cpu_millicores)
    with transaction.atomic():
        deployment = Deployment.objects.create(
            site=site, trigger=trigger, source=description[:200], release=release,
            state=Deployment.State.RELEASING, started_at=timezone.now(),
        )
        show_starting_page(site)
        _log(deployment, f"-----> {description}: starting {release.label} on {host.name}")
        tasks.start_release.apply_async_on_commit(args=[deployment.id, host.name], queue=host.queue)
    return deployment


def after_build(deployment: Deployment, release: Release, host_name: str) -> None:
    """The build made a release: start it (on the same host, which has the slug unpacked)."""
    from sites import tasks
    from hosting.models import Host

    if _suspended(deployment.site):
        fail(deployment, "Not started: the organization was suspended meanwhile.")
        return
    Deployment.objects.filter(pk=deployment.pk).update(
        release=release, state=Deployment.State.RELEASING, build_finished_at=timezone.now()
    )
    _log(deployment, f"-----> Released {release.label}; starting it")
    tasks.start_release.apply_async(args=[deployment.id, host_name], queue=Host.objects.get(name=host_name).queue)


def finish_deployment(deployment_id: int, instance_id: int) -> None:
    """Switch the site's routes to the new instance, then drain and stop the old one."""
    from sites import tasks

    with transaction.atomic():
        deployment = Deployment.objects.select_related("site", "release").get(pk=deployment_id)
        site = Site.objects.select_for_update().get(pk=deployment.site_id)
        instance = Instance.objects.select_related("host").get(pk=instance_id)
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
        proxy.set_routes(site.name, routed_hostnames(site), [instance.upstream], "live",
                         https_redirect=site.force_https, hsts=site.hsts)
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


def succeed(deployment: Deployment, line: str) -> None:
    _finish(deployment, Deployment.State.SUCCEEDED, line)


def fail(deployment: Deployment, reason: str) -> None:
    """Mark the deployment failed with a reason the customer can act on; nothing serving changes."""
    if Deployment.objects.filter(pk=deployment.pk, state__in=Deployment.FINISHED).exists():
        return
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
    if _suspended(site):
        proxy.set_status(site.name, "suspended")
    elif Deployment.objects.filter(site=site, state__in=Deployment.FINISHED).exclude(state=Deployment.State.FAILED).exists():
        proxy.set_routes(site.name, routed_hostnames(site), [], "stopped")
    else:
        proxy.remove_routes(site.name)


def stop_later(site: Site) -> None:
    """Show the stopped page for the site and stop its instance."""
    from sites import tasks

    transaction.on_commit(lambda: tasks.stop_site.delay(site.pk))


def stop_site(site_id: int) -> None:
    from sites import tasks

    site = Site.objects.select_related("current_instance__host").get(pk=site_id)
    proxy.set_routes(site.name, routed_hostnames(site), [], idle_page(site))
    instance = site.current_instance
    if instance is not None:
        Site.objects.filter(pk=site.pk).update(current_instance=None)
        tasks.stop_instance.apply_async(args=[instance.pk], queue=instance.host.queue)


def purge_site_later(site: Site) -> None:
    """After the site row is gone: remove routes, repository, containers, volume, slugs and caches.

    Every host gets the purge (a host that is down runs it when it comes back): builds and
    instances may have left something on any of them.
    """
    from hosting.models import Host
    from sites import tasks

    payload = {
        "site_name": site.name,
        "site_uuid": site.uuid.hex,
        "instances": list(Instance.objects.filter(site_label=site.name).values_list("name", flat=True)),
        "slugs": list(site.slugs.values_list("sha256", flat=True)),
    }
    tasks.purge_site_routes_and_repo.delay_on_commit(site.name, site.uuid.hex)
    for host in Host.objects.all():
        tasks.purge_site_on_host.apply_async_on_commit(kwargs={**payload, "host_name": host.name}, queue=host.queue)


def current_config(site: Site) -> str:
    """The site's env vars now, encrypted, for a new release's snapshot."""
    from sites.config_crypto import encrypt_config
    from sites.services import config_of

    return encrypt_config(config_of(site))
