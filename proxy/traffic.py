"""Per-site requests and bytes, from the edge's one access log, kept in buckets of a minute, ten
minutes and an hour (core.timeseries), each pruned after a while."""
from __future__ import annotations

import datetime
import fcntl
import os
from collections import defaultdict
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core import timeseries
from proxy.models import SiteTraffic
from proxy.validation import GROUP

ROTATE_AT = 64 * 2**20
BUCKETS = timeseries.Columns(key=("group", "resolution", "minute"), added=("requests", "bytes_sent"))


def parse(lines: list[str]) -> dict[tuple[str, datetime.datetime], list[int]]:
    """`<msec> <site group> <status> <bytes>` lines -> {(group, minute): [requests, bytes]}."""
    buckets: dict = defaultdict(lambda: [0, 0])
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or not GROUP.match(parts[1]):
            continue  # unknown hosts ("-"), the platform's own paths, damaged lines
        try:
            moment = datetime.datetime.fromtimestamp(float(parts[0]), tz=datetime.timezone.utc)
            sent = int(parts[3])
        except ValueError:
            continue
        bucket = buckets[(parts[1], moment.replace(second=0, microsecond=0))]
        bucket[0] += 1
        bucket[1] += sent
    return buckets


def collect(log_path: Path) -> int:
    """Add what the log gained since the last run to the series; returns the lines read. One
    collector at a time (beat, or staff running it by hand): two would count the same lines."""
    try:
        lock = open(log_path.with_suffix(".lock"), "w")
    except FileNotFoundError:
        return 0
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _collect(log_path)


def _collect(log_path: Path) -> int:
    offset_path = log_path.with_suffix(".offset")
    try:
        offset = int(offset_path.read_text())
    except (OSError, ValueError):
        offset = 0
    try:
        size = log_path.stat().st_size
    except FileNotFoundError:
        return 0
    if size < offset:
        offset = 0  # rotated or truncated
    with open(log_path, "rb") as f:
        f.seek(offset)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.decode(errors="replace").splitlines()
    points = [({"group": group, "requests": requests, "bytes_sent": sent}, minute)
              for (group, minute), (requests, sent) in parse(lines).items()]
    with transaction.atomic():
        timeseries.add_to_buckets(SiteTraffic, BUCKETS, points)
    offset += len(complete)
    if offset >= ROTATE_AT:
        # nginx appends (O_APPEND), so truncating in place is safe; lines written since are lost.
        os.truncate(log_path, 0)
        offset = 0
    offset_path.write_text(str(offset))
    return len(lines)


def prune_traffic() -> int:
    """Drop the buckets each resolution no longer keeps; returns how many went."""
    return timeseries.prune(SiteTraffic, BUCKETS, timezone.now())
