"""What sites do when reconcile reports a change to one of their instances."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import HostingError
from hosting.models import Instance
from sites import services
from sites.formation import DEPLOYMENT_OF_INSTANCE
from sites.models import Deployment, Site
from sites.pipeline.routes import route_live, route_without_instance

log = logging.getLogger(__name__)

# A replaced release keeps serving its last requests for DRAIN_SECONDS before it is stopped.
DRAIN_MARGIN = timedelta(minutes=2)


def _site_served_by(instance) -> Site | None:
    """The running site this instance serves; never a suspended organization's, which stays on
    its suspended page whatever reconcile finds."""
    return Site.objects.filter(
        current_instance=instance, desired_state=Site.DesiredState.RUNNING, organization__suspended=False
    ).first()


def withdraw_stopped_instance(sender, instance, **kwargs) -> None:
    """The container is not running (a daemon restart): its address may go to another container
    as soon as anything starts, so the site's names stop reaching it now, before reconcile
    starts any container again."""
    site = _site_served_by(instance)
    if site is None:
        return
    with transaction.atomic():
        route_without_instance(site, "starting")


def follow_moved_instance(sender, instance, **kwargs) -> None:
    """The container answers again, on the address the fleet just reported: route the site to it."""
    with transaction.atomic():
        site = _site_served_by(instance)
        if site is None:
            return
        Site.objects.select_for_update().filter(pk=site.pk).first()  # not while a switch is under way
        site.refresh_from_db()
        if site.current_instance_id != instance.pk:
            return  # a deployment switched it to another instance meanwhile
        if not Instance.objects.filter(pk=instance.pk, state=Instance.State.RUNNING).exists():
            return  # failed over (sites/failover.py): a late report from its returning host routes nothing
        route_live(site, instance)


def replace_lost_instance(sender, instance, **kwargs) -> None:
    """The container is gone: start the current release again (a restart deployment)."""
    site = _site_served_by(instance)
    if site is None:
        return
    log.warning("instance %s of %s is gone; restarting the site", instance.name, site.name, extra={"site": site.name})
    try:
        services.restart(site)
    except HostingError as exc:
        log.error("could not restart %s: %s", site.name, exc, extra={"site": site.name})


def unwanted_instances(sender, instances, **kwargs) -> list:
    """Of these running instances, the ones no site needs: not a site's current instance, and their
    deployment failed, was deleted (with its site), or went live and was replaced longer ago than
    the drain (its stop was lost). An instance whose deployment is still under way is kept."""
    current = set(Site.objects.filter(current_instance__in=instances).values_list("current_instance_id", flat=True))
    own = {instance.pk: _deployment_id(instance.name) for instance in instances if instance.pk not in current}
    own.update({instance.pk: None for instance in instances if instance.process})  # sites/formation.py's to judge
    deployments = {d.pk: d for d in Deployment.objects.filter(pk__in=[d for d in own.values() if d is not None])}
    replaced_before = timezone.now() - timedelta(seconds=settings.DRAIN_SECONDS) - DRAIN_MARGIN
    unwanted = []
    for instance in instances:
        if instance.pk in current or own[instance.pk] is None:  # current, or not a site's web instance
            continue
        deployment = deployments.get(own[instance.pk])
        if deployment is None or deployment.state == Deployment.State.FAILED or (
                deployment.state == Deployment.State.SUCCEEDED and (deployment.finished_at or replaced_before) < replaced_before):
            unwanted.append(instance)
    return unwanted


def _deployment_id(instance_name: str) -> int | None:
    match = DEPLOYMENT_OF_INSTANCE.search(instance_name)
    return int(match.group(1)) if match else None
