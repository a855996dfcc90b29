"""The operators' metrics: the platform's state read from the database and Redis at scrape time.

A Prometheus collector, not counters kept in memory: a gunicorn worker's own counters would reset on
every restart and differ from worker to worker, while the rows are the same for whichever worker
answers. Each family is one aggregate query (or one Redis pipeline), so a scrape costs the same
number of queries at 10 sites or 10,000.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

import redis
from django.conf import settings
from django.db.models import (Case, Count, DurationField, ExpressionWrapper, F, IntegerField, Min, Q, Sum, Value,
                              When)
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from core.redis_client import redis_client
from core.routing import CONTROL_QUEUE, PROXY_QUEUE, host_queue
from hosting.models import Host, Instance
from proxy.certificates import RENEW_WITHIN
from proxy.models import Certificate, EdgeState
from sites.models import Deployment, Site
from support.models import Ticket

MB = 1024 * 1024
# Bucket bounds of the deployment duration histogram, in seconds: a restart takes seconds, a build minutes.
DURATION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800)
# Celery's Redis transport keeps a queue's messages of priority 3, 6 and 9 under suffixed keys (kombu's
# `sep` and PRIORITY_STEPS); priority 0, the default, under the queue's name.
PRIORITY_KEYS = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class PlatformCollector(Collector):
    """Every family of /metrics. `collect` reads the database (and Redis) each time it is called."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        hosts = list(_hosts())
        yield from host_families(hosts, now)
        yield sites_family()
        yield from deployment_families()
        yield from queue_families([host.name for host in hosts])
        yield from edge_families()
        yield from certificate_families(now)
        yield from ticket_families(now)


def _hosts():
    return Host.objects.order_by("name").with_reservations().annotate(
        instances_running=Count("instances", filter=Q(instances__state=Instance.State.RUNNING)))


def host_families(hosts: list[Host], now) -> Iterator[Metric]:
    up = GaugeMetricFamily("hosting_host_up", f"1 while the host's agent heartbeat is younger than HOST_DOWN_AFTER "
                           f"({settings.HOST_DOWN_AFTER} s), else 0.", labels=["host"])
    age = GaugeMetricFamily("hosting_host_heartbeat_age_seconds", "Seconds since the host's last heartbeat "
                            "(absent for a host that never sent one).", labels=["host"])
    memory = GaugeMetricFamily("hosting_host_memory_bytes", "Memory the host's Docker daemon reports.", labels=["host"])
    memory_reserved = GaugeMetricFamily("hosting_host_memory_reserved_bytes", "Memory reserved on the host by its "
                                        "starting and running instances (their plans' limits).", labels=["host"])
    cpus = GaugeMetricFamily("hosting_host_cpus", "CPUs the host's Docker daemon reports.", labels=["host"])
    cpus_reserved = GaugeMetricFamily("hosting_host_cpus_reserved", "CPUs reserved on the host by its starting and "
                                      "running instances (their plans' limits; placement overcommits by "
                                      f"CPU_OVERCOMMIT={settings.CPU_OVERCOMMIT}).", labels=["host"])
    instances = GaugeMetricFamily("hosting_host_instances_running", "Site containers running on the host.",
                                  labels=["host"])
    for host in hosts:
        up.add_metric([host.name], 1 if host.is_up(now) else 0)
        if host.last_heartbeat is not None:
            age.add_metric([host.name], max(0.0, (now - host.last_heartbeat).total_seconds()))
        memory.add_metric([host.name], host.memory_mb * MB)
        memory_reserved.add_metric([host.name], host.reserved_memory_mb * MB)
        cpus.add_metric([host.name], host.cpus)
        cpus_reserved.add_metric([host.name], host.reserved_millicores / 1000)
        instances.add_metric([host.name], host.instances_running)
    yield from (up, age, memory, memory_reserved, cpus, cpus_reserved, instances)


def sites_family() -> Metric:
    """Sites by desired state and by the status their customers see (Site.status, computed in SQL)."""
    rows = (Site.objects.order_by().with_status_in_sql().values("desired_state", "status_in_sql")
            .annotate(count=Count("id")))
    family = GaugeMetricFamily("hosting_sites", "Sites by desired state and by the status the portal shows "
                               "(suspended, stopped, running, deploying: a deployment of it has not finished, "
                               "not deployed).", labels=["desired_state", "status"])
    for row in sorted(rows, key=lambda row: (row["desired_state"], row["status_in_sql"])):
        family.add_metric([row["desired_state"], row["status_in_sql"]], row["count"])
    return family


def _duration():
    return ExpressionWrapper(F("finished_at") - Coalesce("started_at", "created_at"), output_field=DurationField())


def _bucket():
    """The index of the first DURATION_BUCKETS bound a finished deployment's duration is within
    (len(DURATION_BUCKETS): above them all); -1 for one that has not finished."""
    within = [When(duration__lte=timedelta(seconds=bound), then=Value(n)) for n, bound in enumerate(DURATION_BUCKETS)]
    return Case(When(Q(finished_at__isnull=True) | ~Q(state__in=Deployment.FINISHED), then=Value(-1)), *within,
                default=Value(len(DURATION_BUCKETS)), output_field=IntegerField())


def deployment_families() -> Iterator[Metric]:
    """Deployments by state, and a histogram of the finished ones' durations, from one pass over the
    table grouped by state and bucket."""
    rows = list(Deployment.objects.order_by().annotate(duration=_duration()).annotate(bucket=_bucket())
                .values("state", "bucket").annotate(count=Count("id"), total=Sum("duration")))
    by_state = GaugeMetricFamily("hosting_deployments", "Deployments in the database by state. Counted from the rows "
                                 "at scrape time: deleting a site removes its deployments, so the finished states "
                                 "mostly grow but are not strict counters.", labels=["state"])
    for state in Deployment.State.values:
        by_state.add_metric([state], sum(row["count"] for row in rows if row["state"] == state))
    yield by_state
    yield duration_family([row for row in rows if row["bucket"] >= 0])


def duration_family(rows: list[dict]) -> Metric:
    """A histogram of the finished deployments still in the database (all time), by outcome."""
    family = HistogramMetricFamily(
        "hosting_deployment_duration_seconds",
        "How long finished deployments took, from their start (or creation, when they never started) to their "
        "end, by outcome. Computed from every finished deployment still in the database at scrape time, not "
        "observed as they happen: deleting a site removes its deployments from the counts.", labels=["state"])
    for state in sorted({row["state"] for row in rows}):
        counts = [0] * (len(DURATION_BUCKETS) + 1)
        total = timedelta()
        for row in rows:
            if row["state"] == state:
                counts[row["bucket"]] += row["count"]
                total += row["total"] or timedelta()
        cumulative = [sum(counts[:n + 1]) for n in range(len(counts))]
        buckets = [(str(float(bound)), cumulative[n]) for n, bound in enumerate(DURATION_BUCKETS)]
        family.add_metric([state], buckets + [("+Inf", cumulative[-1])], sum_value=total.total_seconds())
    return family


def queue_families(host_names: list[str]) -> Iterator[Metric]:
    """Messages waiting in each Celery queue; `hosting_redis_up 0` (and no depths) when Redis does not answer."""
    queues = [CONTROL_QUEUE, PROXY_QUEUE, *(host_queue(name) for name in host_names)]
    client = redis_client(settings.REDIS_URL, timeout=1.0)
    try:
        pipeline = client.pipeline()
        for queue in queues:
            for suffix in PRIORITY_KEYS:
                pipeline.llen(queue + suffix)
        lengths = pipeline.execute()
    except redis.RedisError:
        lengths = None
    finally:
        client.close()
    yield GaugeMetricFamily("hosting_redis_up", "1 when Redis (the task queue) answered this scrape, else 0.",
                            value=0 if lengths is None else 1)
    if lengths is None:
        return
    depth = GaugeMetricFamily("hosting_queue_messages", "Tasks waiting in each Celery queue (not yet taken by a "
                              "worker): control, proxy and one per host.", labels=["queue"])
    step = len(PRIORITY_KEYS)
    for n, queue in enumerate(queues):
        depth.add_metric([queue], sum(lengths[n * step:(n + 1) * step]))
    yield depth


def edge_families() -> Iterator[Metric]:
    state = EdgeState.objects.filter(pk=1).first()
    ok = state is not None and state.applied_at is not None and not state.error
    yield GaugeMetricFamily("hosting_edge_config_ok", "1 when the last apply of the edge's nginx config succeeded, "
                            "0 when it was refused (the previous config keeps serving) or none was applied yet.",
                            value=1 if ok else 0)
    applied = GaugeMetricFamily("hosting_edge_config_applied_timestamp_seconds",
                                "When the edge config was last applied successfully (Unix time).")
    failed = GaugeMetricFamily("hosting_edge_config_failed_timestamp_seconds",
                               "When the edge config was last refused by `nginx -t` (Unix time).")
    if state is not None and state.applied_at is not None:
        applied.add_metric([], state.applied_at.timestamp())
    if state is not None and state.failed_at is not None:
        failed.add_metric([], state.failed_at.timestamp())
    yield from (applied, failed)


def certificate_families(now) -> Iterator[Metric]:
    """Certificates by state, the soonest expiry, and seconds left per hostname for those due for
    renewal only: a healthy certificate is renewed before it shows up there, so a series that stays is
    a renewal that keeps failing. (Every certificate's own series, one per custom domain, made a
    10,000-site platform's scrape 14,000 series and slow.)"""
    rows = {row["state"]: row for row in Certificate.objects.order_by().values("state")
            .annotate(count=Count("id"), soonest=Min("expires_at"))}
    counts = GaugeMetricFamily("hosting_certificates", "Certificates by state (pending, issued, failed).",
                               labels=["state"])
    for state in Certificate.State.values:
        counts.add_metric([state], rows[state]["count"] if state in rows else 0)
    yield counts
    soonest = GaugeMetricFamily("hosting_certificate_soonest_expiry_seconds", "Seconds until the issued certificate "
                                "that expires first expires (negative: expired; absent: none issued).")
    issued = rows.get(Certificate.State.ISSUED)
    if issued and issued["soonest"] is not None:
        soonest.add_metric([], (issued["soonest"] - now).total_seconds())
    yield soonest
    due = GaugeMetricFamily("hosting_certificate_expiry_seconds", "Seconds until each issued certificate that is due "
                            f"for renewal (expiring within {RENEW_WITHIN.days} days) expires (negative: expired).",
                            labels=["hostname"])
    for hostname, expires_at in (Certificate.objects.filter(state=Certificate.State.ISSUED,
                                                            expires_at__lt=now + RENEW_WITHIN)
                                 .order_by("hostname").values_list("hostname", "expires_at")):
        due.add_metric([hostname], (expires_at - now).total_seconds())
    yield due


def ticket_families(now) -> Iterator[Metric]:
    rows = {row["state"]: row for row in Ticket.objects.still_open().order_by().values("state")
            .annotate(count=Count("id"), oldest=Min("created_at"))}
    count = GaugeMetricFamily("hosting_support_tickets_open", "Support tickets not closed, by state (open: waiting "
                              "for staff, answered: waiting for the customer).", labels=["state"])
    oldest = GaugeMetricFamily("hosting_support_ticket_oldest_age_seconds", "Age of the oldest ticket not closed, "
                               "by state (absent when there is none).", labels=["state"])
    for state in (Ticket.State.OPEN, Ticket.State.ANSWERED):
        row = rows.get(state)
        count.add_metric([state], row["count"] if row else 0)
        if row:
            oldest.add_metric([state], max(0.0, (now - row["oldest"]).total_seconds()))
    yield from (count, oldest)
