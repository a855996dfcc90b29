"""A site's charts and disk usage, read from what the hosts' samplers and the edge recorded.

Each window (the last hour, day, week) has a fixed number of buckets of one resolution
(core.timeseries.WINDOWS); a bucket nobody measured is None, so a chart shows a gap rather than a
zero the site never had. Reading a window costs two queries however many points it has; disk
usage of any number of sites costs two.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable

from django.utils import timezone

from core.timeseries import WINDOWS, Window
from hosting import usage as hosting_usage
from proxy import services as proxy
from sites.models import Site

MB = 2**20


@dataclass(frozen=True)
class SiteSeries:
    """The points of a site's four charts, one per bucket, oldest first."""

    window: Window
    starts: list[datetime.datetime]
    cpu_millicores: list[float | None]  # the average of the bucket's samples
    cpu_limit_millicores: int
    memory_bytes: list[int | None]  # the highest sampled in the bucket
    memory_limit_bytes: int
    requests: list[int | None]
    bytes_sent: list[int | None]

    @property
    def seconds(self) -> int:
        return self.window.resolution.seconds


@dataclass(frozen=True)
class DiskUsage:
    used_bytes: int
    size_bytes: int
    measured_at: datetime.datetime

    @property
    def percent(self) -> int:
        return round(100 * self.used_bytes / self.size_bytes) if self.size_bytes else 0


def site_series(site: Site, window: str, now: datetime.datetime | None = None) -> SiteSeries:
    """The site's CPU, memory, requests and bytes over `window` ("hour", "day" or "week")."""
    chosen = WINDOWS[window]
    starts = chosen.starts(now or timezone.now())
    seconds = chosen.resolution.seconds
    samples = hosting_usage.usage_buckets(site.uuid.hex, seconds, starts[0])
    traffic = proxy.traffic_buckets(site.route_group, seconds, starts[0])
    # The edge records a bucket only when it served a request: after the site was made, a missing
    # one means none; before, nothing was there to count.
    born = site.created_at - datetime.timedelta(seconds=seconds)
    quiet = [(0, 0) if start >= born else (None, None) for start in starts]
    counted = [traffic.get(start, silent) for start, silent in zip(starts, quiet)]
    points = [samples.get(start) for start in starts]
    latest = next((sample for sample in reversed(points) if sample is not None), None)
    return SiteSeries(
        window=chosen,
        starts=starts,
        cpu_millicores=[p.cpu_millicores if p else None for p in points],
        cpu_limit_millicores=(latest and latest.cpu_limit_millicores) or site.plan.cpu_millicores,
        memory_bytes=[p.memory_max_bytes if p else None for p in points],
        memory_limit_bytes=(latest and latest.memory_limit_bytes) or site.plan.memory_mb * MB,
        requests=[requests for requests, _ in counted],
        bytes_sent=[sent for _, sent in counted],
    )


def disk_usages(sites: Iterable[Site]) -> dict[int, DiskUsage | None]:
    """{site id: how full its /data volume is (None: not measured yet)}, in two queries."""
    sites = list(sites)
    fills = hosting_usage.volume_fills({site.uuid.hex: site.current_instance_id for site in sites})
    found = {site.pk: fills.get(site.uuid.hex) for site in sites}
    return {pk: DiskUsage(f.used_bytes, f.size_bytes, f.measured_at) if f else None for pk, f in found.items()}


def disk_bytes_of(sites: Iterable[Site]) -> dict[int, int]:
    """{site id: bytes its /data volume holds} of the sites measured so far (the usage page's `disk_of`)."""
    return {pk: disk.used_bytes for pk, disk in disk_usages(sites).items() if disk is not None}


def disk_usage(site: Site) -> DiskUsage | None:
    """How full the site's /data volume is, as its host's agent measured last."""
    return disk_usages([site])[site.pk]
