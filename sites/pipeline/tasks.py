"""Celery tasks of the deploy pipeline: thin wrappers that carry ids and call the machine, and the
`CelerySender`, the only code that sends them (always when the sender's transaction commits).

Tasks named `sites.agent.*` run on a host's agent (queue `host.<name>`); the others run on the
control worker. Names never change: a message in flight during an upgrade must find its task.
Customers' errors end the deployment as failed; transient platform errors retry.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable

from celery import shared_task
from django.db import transaction

from core.errors import CustomerError, HostingError, QueueUnavailable, TransientError
from core.queue import send_now
from core.tasks import PlatformTask
from hosting import dbadmin, dbadmin_mariadb, slug_cache
from hosting.engine import ContainerEngine
from hosting.models import Host, Instance
from sites import formation, git, processes
from sites.database_env import database_name_for
from sites.models import Deployment, Site
from sites.pipeline import archives
from sites.pipeline import build as build_step
from sites.pipeline import machine
from sites.pipeline import release as release_step
from sites.pipeline.release import slug_tarball_path
from sites.workspace import empty_trash as empty_site_trash

log = logging.getLogger(__name__)


class CelerySender:
    """What the machine asks to run next, as Celery tasks sent on commit (see machine.Sender)."""

    def first_step(self, deployment: Deployment, build_it: bool, refused: Callable[[], None]) -> None:
        task = build if build_it else start_release
        queue = Host.objects.get(name=deployment.host_name).queue

        def send() -> None:
            try:
                send_now(task, [deployment.id, deployment.host_name], queue)
            except QueueUnavailable:
                refused()
                raise  # the caller hears QueueUnavailable (503)

        transaction.on_commit(send)

    def start(self, deployment: Deployment) -> None:
        start_release.apply_async_on_commit(args=[deployment.id, deployment.host_name],
                                            queue=Host.objects.get(name=deployment.host_name).queue)

    def switch(self, deployment: Deployment, instance: Instance) -> None:
        finish_deployment.delay_on_commit(deployment.id, instance.id)

    def stop_instance(self, instance: Instance, delay: int = 0) -> None:
        stop_instance.apply_async_on_commit(args=[instance.pk], queue=instance.host.queue, countdown=delay or None)

    def stop_site(self, site: Site) -> None:
        stop_site.delay_on_commit(site.pk)

    def converge_processes(self, site: Site) -> None:
        """The agent of the host of the site's web instance starts and stops its processes."""
        host = site.current_instance.host
        converge_processes.apply_async_on_commit(args=[site.pk, host.name], queue=host.queue)

    def forget_slugs(self, shas: list[str], hosts: list[Host]) -> None:
        for host in hosts:
            forget_slugs.apply_async_on_commit(args=[shas], queue=host.queue)

    def empty_trash(self, site_id: int, host_name: str) -> None:
        empty_trash.apply_async_on_commit(args=[site_id], queue=Host.objects.get(name=host_name).queue)

    def purge_site(self, site_uuid: str, leftovers: dict) -> None:
        purge_site_repository.delay_on_commit(site_uuid)
        for host in Host.objects.all():
            purge_site_on_host.apply_async_on_commit(kwargs={**leftovers, "host_name": host.name}, queue=host.queue)


SENDER = CelerySender()


@contextmanager
def deployment_step(task, deployment: Deployment):
    """Turn whatever goes wrong in a step into a failed deployment with a reason a person can act on."""
    try:
        yield
    except CustomerError as exc:
        machine.fail(deployment, str(exc), SENDER)
    except TransientError as exc:
        if task.request.retries >= task.max_retries:
            machine.fail(deployment, f"The platform could not finish this deployment: {exc}", SENDER)
            return
        raise
    except HostingError as exc:
        log.error("deployment step failed: %s", exc, extra={"deployment": deployment.pk})
        machine.fail(deployment, f"The platform could not finish this deployment: {exc}", SENDER)
    except Exception:
        machine.fail_internally(deployment, SENDER)
        raise


@shared_task(base=PlatformTask, bind=True, name="sites.agent.build")
def build(self, deployment_id: int, host_name: str) -> None:
    deployment = machine.claim_build(deployment_id, self.request.id or f"build-{deployment_id}")
    if deployment is None:
        return
    archive = archives.find(deployment_id)
    try:
        with ContainerEngine() as engine, deployment_step(self, deployment):
            if archive is None and slug_cache.remote():  # sources stay on the control plane
                archive = slug_cache.download(f"/internal/v1/builds/{deployment_id}/source",
                                              archives.archive_path(deployment_id, ".source"))
            if archive is None:
                raise CustomerError("The uploaded source is gone; push again.")
            slug = build_step.build(deployment, host_name, engine, archive)
            if slug_cache.remote():  # the hosts that release it fetch it from the control plane
                slug_cache.upload(slug_tarball_path(slug.sha256), slug.sha256)
            machine.after_build(deployment, slug, host_name, SENDER)
    finally:
        if archive is not None and Deployment.objects.filter(pk=deployment_id, state__in=[
                Deployment.State.RELEASING, *Deployment.FINISHED]).exists():
            archive.unlink(missing_ok=True)  # built or failed for good: a retry would still need it
        SENDER.empty_trash(deployment.site_id, host_name)


@shared_task(base=PlatformTask, bind=True, name="sites.agent.start_release")
def start_release(self, deployment_id: int, host_name: str) -> None:
    deployment = machine.claim_start(deployment_id, self.request.id or f"start-{deployment_id}",
                                     retrying=self.request.retries > 0)
    if deployment is None:
        return
    host = Host.objects.get(name=host_name)
    with ContainerEngine() as engine, deployment_step(self, deployment):
        instance = release_step.start_release(deployment, host, engine)
        SENDER.switch(deployment, instance)
    SENDER.empty_trash(deployment.site_id, host_name)


@shared_task(base=PlatformTask, bind=True, name="sites.finish_deployment")
def finish_deployment(self, deployment_id: int, instance_id: int) -> None:
    """The switch, on the control worker."""
    deployment = Deployment.objects.get(pk=deployment_id)
    with deployment_step(self, deployment):
        machine.switch_to(deployment_id, instance_id, SENDER)
    formation.after_switch(instance_id, SENDER)  # the processes follow the web instance


@shared_task(base=PlatformTask, name="sites.agent.stop_instance")
def stop_instance(instance_id: int) -> None:
    instance = Instance.objects.select_related("host").filter(pk=instance_id).first()
    if instance is None:
        return
    with ContainerEngine() as engine:
        release_step.stop_instance(instance, engine)


@shared_task(base=PlatformTask, name="sites.stop_site")
def stop_site(site_id: int) -> None:
    machine.stop_site(site_id, SENDER)
    site = Site.objects.filter(pk=site_id).first()
    if site is not None:
        processes.stop_all(site, SENDER.stop_instance)


@shared_task(base=PlatformTask, name="sites.agent.converge_processes")
def converge_processes(site_id: int, host_name: str) -> list[str]:
    """On the agent of the site's web host: start and stop its processes (sites/processes.py)."""
    with ContainerEngine() as engine:
        return processes.converge(site_id, Host.objects.get(name=host_name), engine, stop=SENDER.stop_instance)


@shared_task(base=PlatformTask, name="sites.purge_site_repository")
def purge_site_repository(site_uuid: str) -> None:
    """A deleted site's repository, by its uuid (its routes went before the delete answered)."""
    git.Repository(site_uuid).remove()


@shared_task(base=PlatformTask, name="sites.purge_site_routes_and_repo")
def purge_site_routes_and_repo(site_name: str, site_uuid: str) -> None:
    """Sent by earlier versions; routes are never removed by name (the name may be another site's now)."""
    purge_site_repository(site_uuid)


@shared_task(base=PlatformTask, name="sites.agent.purge_site")
def purge_site_on_host(host_name: str, site_name: str, site_uuid: str, instances: list[str], slugs: list[str]) -> None:
    with ContainerEngine() as engine:
        release_step.purge_site(Host.objects.get(name=host_name), engine, site_name, site_uuid, instances, slugs)
        for admin in (dbadmin, dbadmin_mariadb):  # the site's databases, if here
            admin.purge_if_here(engine, host_name, database_name_for(site_uuid))


@shared_task(base=PlatformTask, name="sites.agent.empty_trash")
def empty_trash(site_id: int) -> int:
    """What builds and old slugs left on this host's build disk of the site goes, in the background."""
    site = Site.objects.select_related("plan").filter(pk=site_id).first()
    if site is None:
        return 0  # deleted: its whole build disk goes with the purge
    with ContainerEngine() as engine:
        return empty_site_trash(site, engine)


@shared_task(base=PlatformTask, name="sites.agent.forget_slugs")
def forget_slugs(shas: list[str]) -> None:
    """Slug tarballs of releases too old to roll back to leave this host."""
    log.info("forgetting slugs %s", ", ".join(sha[:12] for sha in shas))
    release_step.forget_slug_tarballs(shas)
