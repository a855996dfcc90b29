"""What hosts' samplers measured: each site's CPU and memory in buckets of a minute, ten minutes
and an hour (core.timeseries), each volume's fill level; recording, pruning and reading them."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction

from core import timeseries
from hosting.models import Host, Instance, UsageSample, VolumeUsage

BUCKETS = timeseries.Columns(
    key=("volume", "resolution", "start"),
    added=("cpu_millicores_sum", "cpu_samples"),
    peaks=("memory_max_bytes",),
    latest=("memory_limit_bytes", "cpu_limit_millicores"),
)


@dataclass(frozen=True)
class SiteUsage:
    """One sample of a site's containers on a host, keyed by the site's volume."""

    volume: str
    cpu_millicores: float | None  # None: the first sample of its containers, nothing to compare with yet
    memory_bytes: int
    memory_limit_bytes: int
    cpu_limit_millicores: int


@dataclass(frozen=True)
class VolumeFill:
    volume: str
    used_bytes: int
    size_bytes: int


def record_usage(host_name: str, sites: list[SiteUsage], volumes: list[VolumeFill], now: datetime.datetime) -> None:
    """Add one round of samples; the host's volume rows become exactly `volumes`."""
    points = [({
        "volume": site.volume,
        "cpu_millicores_sum": site.cpu_millicores or 0.0,
        "cpu_samples": 0 if site.cpu_millicores is None else 1,
        "memory_max_bytes": site.memory_bytes,
        "memory_limit_bytes": site.memory_limit_bytes,
        "cpu_limit_millicores": site.cpu_limit_millicores,
    }, now) for site in sites]
    host = Host.objects.get(name=host_name)
    with transaction.atomic():
        timeseries.add_to_buckets(UsageSample, BUCKETS, points)
        VolumeUsage.objects.filter(host=host).exclude(volume__in=[v.volume for v in volumes]).delete()
        VolumeUsage.objects.bulk_create(
            [VolumeUsage(host=host, volume=v.volume, used_bytes=v.used_bytes, size_bytes=v.size_bytes, measured_at=now)
             for v in volumes],
            update_conflicts=True, unique_fields=["host", "volume"],
            update_fields=["used_bytes", "size_bytes", "measured_at"],
        )


def prune_usage(now: datetime.datetime) -> int:
    """Drop the buckets each resolution no longer keeps; returns how many went."""
    return timeseries.prune(UsageSample, BUCKETS, now)


def forget_volume(volume: str) -> None:
    """A deleted site's samples and fill levels, on every host."""
    UsageSample.objects.filter(volume=volume).delete()
    VolumeUsage.objects.filter(volume=volume).delete()


def usage_buckets(volume: str, resolution: int, since: datetime.datetime) -> dict[datetime.datetime, UsageSample]:
    """The volume's buckets of `resolution` seconds from `since` on, by their start (one query)."""
    rows = UsageSample.objects.filter(volume=volume, resolution=resolution, start__gte=since)
    return {row.start: row for row in rows}


def volume_fills(wanted: dict[str, int | None]) -> dict[str, VolumeUsage]:
    """How full each volume is (`wanted`: volume -> the id of its site's current instance, or None):
    as measured on the host of that instance, else as measured last (a site that moved may leave
    its old volume on the old host for a while). Two queries, however many volumes."""
    hosts = dict(Instance.objects.filter(pk__in=[i for i in wanted.values() if i]).values_list("pk", "host_id"))
    chosen: dict[str, VolumeUsage] = {}
    for row in VolumeUsage.objects.filter(volume__in=list(wanted)).order_by("measured_at", "pk"):
        preferred = hosts.get(wanted[row.volume])
        current = chosen.get(row.volume)
        if current is None or row.host_id == preferred or current.host_id != preferred:
            chosen[row.volume] = row
    return chosen
