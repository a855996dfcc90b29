"""Celery tasks of the deploy pipeline: thin wrappers that carry ids and call one service.

Tasks named `sites.agent.*` run on a host's agent (queue `host.<name>`); the others run on the
control worker. Customers' errors end the deployment as failed; transient platform errors retry.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from celery import shared_task
from django.conf import settings

from hosting.engine import ContainerEngine
from core.errors import CustomerError, HostingError, TransientError
from hosting.models import Host, Instance
from core.tasks import PlatformTask
from sites import builds, deploys, running
from sites.models import Deployment

log = logging.getLogger(__name__)


@contextmanager
def deployment_step(task, deployment: Deployment):
    """Turn whatever goes wrong in a step into a failed deployment with a reason a person can act on."""
    try:
        yield
    except CustomerError as exc:
        deploys.fail(deployment, str(exc))
    except TransientError as exc:
        if task.request.retries >= task.max_retries:
            deploys.fail(deployment, f"The platform could not finish this deployment: {exc}")
            return
        raise
    except HostingError as exc:
        log.error("deployment step failed: %s", exc, extra={"deployment": deployment.pk})
        deploys.fail(deployment, f"The platform could not finish this deployment: {exc}")
    except Exception:
        log.exception("deployment step crashed", extra={"deployment": deployment.pk})
        deploys.fail(deployment, "An internal error stopped this deployment; the platform team has been told.")
        raise


@shared_task(base=PlatformTask, bind=True, name="sites.agent.build")
def build(self, deployment_id: int, host_name: str) -> None:
    deployment = deploys.claim_build(deployment_id, retrying=self.request.retries > 0)
    if deployment is None:
        return
    archive = next(Path(settings.ARCHIVES_DIR).glob(f"{deployment_id}.*"), None)
    try:
        with ContainerEngine() as engine, deployment_step(self, deployment):
            if archive is None:
                raise CustomerError("The uploaded source is gone; push again.")
            slug = builds.build(deployment, host_name, engine, archive)
            release = deploys.create_release(deployment.site, slug, deploys.current_config(deployment.site),
                                             f"Deploy {deployment.source[:40]}")
            deploys.after_build(deployment, release, host_name)
    finally:
        if archive is not None and Deployment.objects.filter(pk=deployment_id, state__in=[
                Deployment.State.RELEASING, *Deployment.FINISHED]).exists():
            archive.unlink(missing_ok=True)  # built or failed for good: a retry would still need it
        empty_trash.apply_async(args=[deployment.site_id], queue=Host.objects.get(name=host_name).queue)


@shared_task(base=PlatformTask, bind=True, name="sites.agent.start_release")
def start_release(self, deployment_id: int, host_name: str) -> None:
    deployment = deploys.claim_start(deployment_id, self.request.id or f"start-{deployment_id}",
                                     retrying=self.request.retries > 0)
    if deployment is None:
        return
    host = Host.objects.get(name=host_name)
    with ContainerEngine() as engine, deployment_step(self, deployment):
        instance = running.start_release(deployment, host, engine)
        finish_deployment.delay(deployment.id, instance.id)
    empty_trash.apply_async(args=[deployment.site_id], queue=host.queue)


@shared_task(base=PlatformTask, bind=True, name="sites.finish_deployment")
def finish_deployment(self, deployment_id: int, instance_id: int) -> None:
    deployment = Deployment.objects.get(pk=deployment_id)
    with deployment_step(self, deployment):
        deploys.finish_deployment(deployment_id, instance_id)


@shared_task(base=PlatformTask, name="sites.agent.stop_instance")
def stop_instance(instance_id: int) -> None:
    instance = Instance.objects.select_related("host").filter(pk=instance_id).first()
    if instance is None:
        return
    with ContainerEngine() as engine:
        running.stop_instance(instance, engine)


@shared_task(base=PlatformTask, name="sites.stop_site")
def stop_site(site_id: int) -> None:
    deploys.stop_site(site_id)


@shared_task(base=PlatformTask, name="sites.purge_site_repository")
def purge_site_repository(site_uuid: str) -> None:
    """A deleted site's repository, by its uuid (its routes went before the delete answered)."""
    from sites import git

    git.remove_repository(site_uuid)


@shared_task(base=PlatformTask, name="sites.purge_site_routes_and_repo")
def purge_site_routes_and_repo(site_name: str, site_uuid: str) -> None:
    """Sent by earlier versions; routes are never removed by name (the name may be another site's now)."""
    purge_site_repository(site_uuid)


@shared_task(base=PlatformTask, name="sites.agent.purge_site")
def purge_site_on_host(host_name: str, site_name: str, site_uuid: str, instances: list[str], slugs: list[str]) -> None:
    with ContainerEngine() as engine:
        running.purge_site(Host.objects.get(name=host_name), engine, site_name, site_uuid, instances, slugs)


@shared_task(base=PlatformTask, name="sites.agent.empty_trash")
def empty_trash(site_id: int) -> int:
    """What builds and old slugs left on this host's build disk of the site goes, in the background."""
    from sites.models import Site
    from sites.workspace import empty_trash as empty

    site = Site.objects.select_related("plan").filter(pk=site_id).first()
    if site is None:
        return 0  # deleted: its whole build disk goes with the purge
    with ContainerEngine() as engine:
        return empty(site, engine)


@shared_task(base=PlatformTask, name="sites.agent.forget_slugs")
def forget_slugs(shas: list[str]) -> None:
    """Slug tarballs of releases too old to roll back to leave this host."""
    log.info("forgetting slugs %s", ", ".join(sha[:12] for sha in shas))
    running.forget_slug_tarballs(shas)


@shared_task(base=PlatformTask, name="sites.expire_pending_domains")
def expire_pending_domains() -> int:
    """Beat: custom domain claims not verified within 7 days go, with their tokens."""
    from sites import domains

    return domains.expire_pending_domains()
