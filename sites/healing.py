"""What sites do when reconcile reports a change to one of their instances."""
from __future__ import annotations

import logging

from django.db import transaction

from hosting.errors import HostingError
from proxy import services as proxy
from sites.models import Site

log = logging.getLogger(__name__)


def _site_served_by(instance) -> Site | None:
    """The running site this instance serves; never a suspended organization's, which stays on
    its suspended page whatever reconcile finds."""
    return Site.objects.filter(
        current_instance=instance, desired_state=Site.DesiredState.RUNNING, organization__suspended=False
    ).first()


def follow_moved_instance(sender, instance, **kwargs) -> None:
    """The container came back on a new address: point the site's routes at it."""
    site = _site_served_by(instance)
    if site is None:
        return
    from sites.deploys import routed_hostnames

    with transaction.atomic():
        proxy.set_routes(site.name, routed_hostnames(site), [instance.upstream], "live",
                         https_redirect=site.force_https, hsts=site.hsts)


def replace_lost_instance(sender, instance, **kwargs) -> None:
    """The container is gone: start the current release again (a restart deployment)."""
    from sites import services

    site = _site_served_by(instance)
    if site is None:
        return
    log.warning("instance %s of %s is gone; restarting the site", instance.name, site.name, extra={"site": site.name})
    try:
        services.restart(site)
    except HostingError as exc:
        log.error("could not restart %s: %s", site.name, exc, extra={"site": site.name})
