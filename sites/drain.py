"""Drain: every site moves off a host with the same switch as a deploy, then the host is empty.

`drain` cordons the host (no new work, hosting/cordon.py) and gives each site that would still be
served from it a restart deployment, which placement puts on another host. The old instance keeps
serving until the new one answers and the edge switches (sites/pipeline/machine.py `switch_to`);
only then does it stop, after DRAIN_SECONDS. Unlike failover, nothing is marked lost: the host is
up and its instances are the site's until the switch.

Once per site: the move is claimed under the site's row lock, and it is the restart deployment
itself; a second drain finds it under way and sends nothing. A site that no host has room for (or
that may not be deployed now) is left where it is, serving, and reported; draining again retries
the sites left. `undrain` is uncordon: the host gets work again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from accounts import audit
from core.errors import HostingError
from hosting import cordon
from hosting.models import Host, Instance
from sites.models import Deployment, Site
from sites.pipeline import machine
from sites.pipeline.tasks import SENDER

log = logging.getLogger(__name__)

MOVE = "Host {host} is draining: moving elsewhere"


@dataclass
class DrainReport:
    moving: dict[str, str] = field(default_factory=dict)  # site: the host it moves to
    left: dict[str, str] = field(default_factory=dict)  # site: why it stays (no room, suspended...)
    under_way: list[str] = field(default_factory=list)  # sites a move (or another deploy) already takes off


def drain(host: Host, by=None, reason: str = "") -> DrainReport:
    """Cordon `host` and start moving every site still served from it (or about to be) elsewhere."""
    cordon.cordon(host, reason, by=by)
    Host.objects.filter(pk=host.pk, draining_since__isnull=True).update(draining_since=host.cordoned_at)
    report = DrainReport()
    for site_id in sites_on(host):
        _move(site_id, host, by, report)
    audit.record(None, "staff.host_drain", host.name, by=by, moving=report.moving, left=report.left,
                 under_way=report.under_way)
    log.warning("draining host %s: %d site(s) moving, %d left", host.name, len(report.moving), len(report.left),
                extra={"host": host.name})
    return report


def drain_many(hosts: list[Host], by=None, reason: str = "") -> dict[str, DrainReport]:
    """Several hosts at once: all are cordoned first, so no site moves from one onto another."""
    for host in hosts:
        cordon.cordon(host, reason, by=by)
    return {host.name: drain(host, by=by, reason=reason) for host in hosts}


def undrain(host: Host, by=None) -> bool:
    """The host gets work again (its sites do not come back by themselves)."""
    return cordon.uncordon(host, by=by, action="staff.host_undrain")


def sites_on(host: Host) -> list[int]:
    """Sites served from `host`, or with a deployment bound to it that has not ended."""
    bound = Deployment.objects.filter(host_name=host.name).exclude(state__in=Deployment.FINISHED).values("site_id")
    return list(Site.objects.filter(Q(current_instance__host=host) | Q(pk__in=bound)).order_by("pk")
                .values_list("pk", flat=True))


def _move(site_id: int, host: Host, by, report: DrainReport) -> None:
    try:
        with transaction.atomic():
            site = _locked_site(site_id)
            if site is None:
                return
            if not _ends_on(site, host):
                report.under_way.append(site.name)
                return
            deployment = machine.roll_out(site, Deployment.Trigger.RESTART, MOVE.format(host=host.name), SENDER,
                                          by=by)
    except HostingError as exc:  # no room elsewhere, a suspended organization, no queue: it stays, serving
        name = Site.objects.filter(pk=site_id).values_list("name", flat=True).first() or str(site_id)
        report.left[name] = str(exc)
        log.error("draining host %s: %s stays: %s", host.name, name, exc, extra={"host": host.name, "site": name})
        return
    report.moving[site.name] = deployment.host_name
    audit.record(site.organization, "site.drain_move", site.name, site=site.name, by=by, host=host.name,
                 to=deployment.host_name, deployment=deployment.pk)


def _locked_site(site_id: int) -> Site | None:
    return Site.objects.select_for_update(of=("self",)).select_related(
        "current_instance", "current_release__slug", "organization", "plan").filter(pk=site_id).first()


def _ends_on(site: Site, host: Host) -> bool:
    """Whether the site would still be served from `host` once its deployments in line have run:
    the last one not ended decides (deployments run in order), else its current instance."""
    last = Deployment.objects.filter(site=site).exclude(state__in=Deployment.FINISHED).order_by("-id").first()
    if last is not None:
        return last.host_name == host.name
    instance = site.current_instance
    return instance is not None and instance.host_id == host.pk and site.desired_state == Site.DesiredState.RUNNING


def remaining(host: Host) -> int:
    """Instances still holding room on `host` (starting or running): 0 when it is drained."""
    return Instance.objects.filter(host=host, state__in=Instance.RESERVING).count()


def wait_until_empty(host: Host, timeout: float, interval: float = 1.0) -> int:
    """Poll until `host` runs no instance or `timeout` passes; returns how many are left."""
    deadline = time.monotonic() + timeout
    while (left := remaining(host)) and time.monotonic() < deadline:
        time.sleep(interval)
    return left
