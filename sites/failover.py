"""Failover: the sites of a host found down start elsewhere from their release's slug, once each.

On every heartbeat check (hosting/fleet.py sends `hosts_down` with every host down right now), each
running site whose current instance is on a down host gets a restart deployment, which places the
current release on a live host and switches the edge to it when it answers (the same switch as
any deployment). Until then the edge keeps the last address: the same release, which a host that
is only cut off from the control plane may still serve.

Exactly once: the claim is taken under the site's row lock, and it is the restart deployment
itself; a second check, worker or redelivered task finds it (not finished) and does nothing. The
lost instance is marked failed in the same transaction, so it no longer reserves room on the down
host and its container is removed when the host comes back (fencing, hosting/fleet.py). A site
that no host has room for keeps its claim open: the transaction is rolled back, the wait is
recorded once in its audit log (customer and staff see it) and the next check tries again; its
deployments bound to the down host fail first, in a transaction of their own, room or not.
Deployments bound to the down host of sites not served from it (a first deploy, a site moving onto
it) fail too, saying so: the customer deploys again and placement picks a live host.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from hosting import instances
from hosting.models import Host
from hosting.placement import NoHostAvailable
from sites.models import Deployment, Site
from sites.pipeline import machine
from sites.pipeline.tasks import SENDER

log = logging.getLogger(__name__)

HOST_LOST = "Host {host} stopped answering during this deployment; the site starts on another host."
STRANDED = "Host {host} stopped answering during this deployment; deploy again to use another host."
WAITING = "site.failover_waiting"
# A move that failed (its release did not start on the new host) is tried again after this.
RETRY_AFTER = timedelta(minutes=1)


def fail_over_hosts(sender, hosts: list[Host], **kwargs) -> int:
    """Receiver of hosting.fleet.hosts_down: start elsewhere every site still served from these hosts."""
    started = 0
    for host in hosts:
        for site_id in Site.objects.filter(current_instance__host=host).values_list("pk", flat=True):
            if fail_over_site(site_id, host) is not None:
                started += 1
        _fail_stranded_deployments(host)
    return started


def fail_over_site(site_id: int, host: Host) -> Deployment | None:
    """The restart deployment that moves the site off the down `host`, or None when there is
    nothing to do (moved already, a move under way, stopped) or no host has room yet."""
    with transaction.atomic():
        # Committed on its own: with no room anywhere the claim below rolls back, and a deployment
        # left waiting on the down host would stay "building" for the customer for the whole outage.
        site = _lost_site(site_id, host)
        if site is not None:
            _fail_deployments_on(site, host)
    try:
        with transaction.atomic():
            deployment = _claim(site_id, host)
    except NoHostAvailable as exc:
        _record_waiting(site_id, host, str(exc))
        return None
    if deployment is not None:
        site = deployment.site
        audit.record(site.organization, "site.failover", site.name, site=site.name, host=host.name,
                     to=deployment.host_name, deployment=deployment.pk)
        log.warning("host %s is down: %s starts on %s", host.name, site.name, deployment.host_name,
                    extra={"site": site.name, "host": host.name, "deployment": deployment.pk})
    return deployment


def _lost_site(site_id: int, host: Host) -> Site | None:
    """The site, row-locked, while its current instance is on `host` and `host` is still down."""
    site = Site.objects.select_for_update(of=("self",)).select_related("current_instance", "organization").filter(
        pk=site_id).first()
    if site is None or not Host.objects.filter(pk=host.pk, down_since__isnull=False).exists():
        return None  # deleted, or the host fenced and came back meanwhile: its instance stays
    if site.current_instance is None or site.current_instance.host_id != host.pk:
        return None  # moved already
    return site


def _claim(site_id: int, host: Host) -> Deployment | None:
    site = _lost_site(site_id, host)
    if site is None:
        return None
    lost = site.current_instance
    if site.desired_state != Site.DesiredState.RUNNING or site.organization.suspended:
        return None  # nothing to serve; a later start places it on a live host
    if Deployment.objects.filter(site=site).exclude(state__in=Deployment.FINISHED).exists():
        return None  # claimed: a restart (this one's or a customer's) is on its way elsewhere
    description = f"Host {host.name} is down: starting elsewhere"
    if Deployment.objects.filter(site=site, source=description, state=Deployment.State.FAILED,
                                 finished_at__gte=timezone.now() - RETRY_AFTER).exists():
        return None  # the last move failed (its release would not start): not one failed move per check
    instances.mark_lost(lost)  # no longer reserves room on the down host; fenced when it returns
    return machine.roll_out(site, Deployment.Trigger.RESTART, description, SENDER)


def _fail_deployments_on(site: Site, host: Host) -> None:
    """Deployments of the site bound to the down host would wait for it for ever (their tasks sit
    in its queue): they fail, and the move's restart starts the current release instead. A
    redelivered task finds them finished and does nothing (the claims in sites/pipeline/machine.py)."""
    stuck = Deployment.objects.filter(site=site, host_name=host.name).exclude(state__in=Deployment.FINISHED)
    for deployment in stuck:
        _fail(deployment, HOST_LOST.format(host=host.name))


def _fail(deployment: Deployment, reason: str) -> None:
    """Conditional: a deployment that finished meanwhile (or a second check) is left as it is."""
    if Deployment.objects.filter(pk=deployment.pk).exclude(state__in=Deployment.FINISHED).update(
            state=Deployment.State.FAILED, error=reason, finished_at=timezone.now()):
        machine.record_failure(deployment, reason, SENDER)


def _fail_stranded_deployments(host: Host) -> None:
    """What is still bound to the down host after its served sites moved belongs to sites it
    does not serve: without this, a first deploy placed there just before it died would stay
    "building" for ever (nothing else would fail it)."""
    stranded = Deployment.objects.filter(host_name=host.name).exclude(state__in=Deployment.FINISHED)
    for deployment in stranded.select_related("site"):
        _fail(deployment, STRANDED.format(host=host.name))


def _record_waiting(site_id: int, host: Host, why: str) -> None:
    """Once per outage of the host: the site waits for room, and is retried on every check."""
    site = Site.objects.select_related("organization").filter(pk=site_id).first()
    if site is None:
        return
    log.error("host %s is down and %s cannot start elsewhere yet: %s", host.name, site.name, why,
              extra={"site": site.name, "host": host.name})
    if not AuditEvent.objects.filter(action=WAITING, site_name=site.name, created_at__gte=host.down_since).exists():
        audit.record(site.organization, WAITING, site.name, site=site.name, host=host.name,
                     reason=f"Host {host.name} is down and no other host has room yet ({why}); "
                            "the platform keeps trying.")

