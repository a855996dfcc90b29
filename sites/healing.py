"""What sites do when reconcile reports a change to one of their instances."""
from __future__ import annotations

import logging

from django.db import transaction

from core.errors import HostingError
from sites import services
from sites.models import Site
from sites.pipeline.routes import route_live, route_without_instance

log = logging.getLogger(__name__)


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
