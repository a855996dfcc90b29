"""What the staff dashboard shows, read in a fixed number of aggregate queries: however many
hosts, sites, deployments, tickets or certificates there are, the dashboard costs the same."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from hosting.models import Host, Instance
from proxy.models import Certificate, EdgeState
from sites.models import Deployment, Site
from support.models import Ticket

HOSTS_SHOWN = 20  # the dashboard lists this many hosts (down ones first); the host list has them all
LATEST_SHOWN = 5
EXPIRING_WITHIN = datetime.timedelta(days=14)
# Open tickets by how long ago they were opened: (label, younger than).
TICKET_AGES = (("under an hour", datetime.timedelta(hours=1)), ("under a day", datetime.timedelta(days=1)),
               ("under 3 days", datetime.timedelta(days=3)), ("older", None))
STATUS_ORDER = ("running", "deploying", "not deployed", "stopped", "suspended")


@dataclass(frozen=True)
class FleetCapacity:
    hosts: list[Host]  # with_reservations, at most HOSTS_SHOWN
    host_count: int
    hosts_up: int
    memory_mb: int
    reserved_memory_mb: int
    cpus: int  # what the daemons report
    cpu_millicores: int  # what placement may reserve (overcommitted)
    reserved_millicores: int

    @property
    def free_memory_mb(self) -> int:
        return self.memory_mb - self.reserved_memory_mb

    @property
    def free_millicores(self) -> int:
        return self.cpu_millicores - self.reserved_millicores


def fleet_capacity(now: datetime.datetime) -> FleetCapacity:
    """The hosts and their reservations (three queries)."""
    hosts = list(Host.objects.with_reservations().order_by(F("last_heartbeat").asc(nulls_first=True), "name")[:HOSTS_SHOWN])
    hosts.sort(key=lambda host: (host.is_up(now), host.name))
    alive = now - datetime.timedelta(seconds=settings.HOST_DOWN_AFTER)
    totals = Host.objects.aggregate(count=Count("id"), up=Count("id", filter=Q(last_heartbeat__gte=alive)),
                                    memory=Sum("memory_mb"), cpus=Sum("cpus"))
    reserved = Instance.objects.filter(state__in=Instance.RESERVING).aggregate(
        memory=Sum("memory_mb"), cpu=Sum("cpu_millicores"))
    placeable = Host.placeable_millicores(totals["cpus"] or 0)
    return FleetCapacity(hosts, totals["count"], totals["up"], totals["memory"] or 0, reserved["memory"] or 0,
                         totals["cpus"] or 0, placeable, reserved["cpu"] or 0)


def sites_by_status() -> list[tuple[str, int]]:
    counts = Site.objects.count_by_status()
    return [(status, counts.get(status, 0)) for status in STATUS_ORDER]


@dataclass(frozen=True)
class FailedDeployments:
    count: int
    latest: list[Deployment]
    list_url: str


def failed_deployments(now: datetime.datetime) -> FailedDeployments:
    """Deployments that failed in the last day (two queries)."""
    since = now - datetime.timedelta(days=1)
    failed = Deployment.objects.filter(state=Deployment.State.FAILED, finished_at__gte=since)
    latest = list(failed.select_related("site").order_by("-finished_at", "-id")[:LATEST_SHOWN])
    url = _changelist("sites", "deployment", state__exact=Deployment.State.FAILED, finished_at__gte=since.isoformat())
    return FailedDeployments(failed.order_by().count(), latest, url)


def open_tickets_by_age(now: datetime.datetime) -> list[dict]:
    """Tickets not closed, by how long ago they were opened, each with a link to them (one query)."""
    buckets, younger_than = {}, None
    for n, (label, age) in enumerate(TICKET_AGES):
        window = Q()
        if age is not None:
            window &= Q(created_at__gt=now - age)
        if younger_than is not None:
            window &= Q(created_at__lte=now - younger_than)
        buckets[f"b{n}"] = (label, age, younger_than, window)
        younger_than = age
    counts = Ticket.objects.still_open().order_by().aggregate(
        **{key: Count("id", filter=window) for key, (_, _, _, window) in buckets.items()})
    rows = []
    for key, (label, age, older_than, _) in buckets.items():
        filters = {"state__in": f"{Ticket.State.OPEN},{Ticket.State.ANSWERED}"}
        if age is not None:
            filters["created_at__gt"] = (now - age).isoformat()
        if older_than is not None:
            filters["created_at__lte"] = (now - older_than).isoformat()
        rows.append({"label": label, "count": counts[key], "filters": filters,
                     "url": _changelist("support", "ticket", **filters)})
    return rows


@dataclass(frozen=True)
class EdgeHealth:
    state: EdgeState | None
    failed_count: int
    failed: list[Certificate]
    expiring_count: int
    expiring: list[Certificate]
    failed_url: str
    expiring_url: str


def edge_health(now: datetime.datetime) -> EdgeHealth:
    """The edge config's last apply, certificates that failed and those that expire soon (four queries)."""
    soon = now + EXPIRING_WITHIN
    failed = Certificate.objects.filter(state=Certificate.State.FAILED)
    expiring = Certificate.objects.filter(state=Certificate.State.ISSUED, expires_at__lt=soon)
    return EdgeHealth(
        state=EdgeState.objects.filter(pk=1).first(),
        failed_count=failed.count(),
        failed=list(failed.order_by("-attempted_at", "hostname")[:LATEST_SHOWN]),
        expiring_count=expiring.count(),
        expiring=list(expiring.order_by("expires_at", "hostname")[:LATEST_SHOWN]),
        failed_url=_changelist("proxy", "certificate", state__exact=Certificate.State.FAILED),
        expiring_url=_changelist("proxy", "certificate", expiry="soon"),
    )


def _changelist(app_label: str, model_name: str, **query: str) -> str:
    """The staff list of those rows, filtered; "" while that model has no admin page."""
    try:
        return f"{reverse(f'admin:{app_label}_{model_name}_changelist')}?{urlencode(query)}"
    except NoReverseMatch:
        return ""
