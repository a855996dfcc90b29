"""Time series of bounded size: points in buckets of three lengths, each kept for a while.

Every measurement is added to a bucket of each resolution at once (a minute, ten minutes, an hour),
so a chart over a week reads 168 hourly rows, never 10,080 minutes; pruning drops each resolution's
buckets once they are older than it is kept. hosting's usage samples and proxy's traffic both
use this, through `add_to_buckets` and `prune`.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable, Sequence

from django.db import connection, models

UTC = datetime.timezone.utc


@dataclass(frozen=True)
class Resolution:
    seconds: int
    keep: datetime.timedelta


MINUTE = Resolution(60, datetime.timedelta(hours=2))
TEN_MINUTES = Resolution(600, datetime.timedelta(days=2))
HOUR = Resolution(3600, datetime.timedelta(days=8))
RESOLUTIONS = (MINUTE, TEN_MINUTES, HOUR)


@dataclass(frozen=True)
class Window:
    """What a chart shows: the last `buckets` buckets of one resolution, the current one last."""

    name: str
    resolution: Resolution
    buckets: int

    def starts(self, now: datetime.datetime) -> list[datetime.datetime]:
        last = bucket_start(now, self.resolution.seconds)
        step = datetime.timedelta(seconds=self.resolution.seconds)
        return [last - step * (self.buckets - 1 - i) for i in range(self.buckets)]


WINDOWS = {
    "hour": Window("hour", MINUTE, 60),
    "day": Window("day", TEN_MINUTES, 144),
    "week": Window("week", HOUR, 168),
}


def bucket_start(moment: datetime.datetime, seconds: int) -> datetime.datetime:
    """The start of the bucket of `seconds` that holds `moment` (aligned to the epoch, in UTC)."""
    epoch = int(moment.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def resolution_for(minutes: int) -> Resolution:
    """The finest resolution still kept `minutes` back."""
    for resolution in RESOLUTIONS:
        if datetime.timedelta(minutes=minutes) <= resolution.keep:
            return resolution
    return RESOLUTIONS[-1]


@dataclass(frozen=True)
class Columns:
    """How a model's bucket rows are merged: `key` names the unique bucket (its last field is the
    bucket's start, the one before it the resolution), `added` are summed, `peaks` keep their
    maximum, `latest` take the newest value."""

    key: Sequence[str]
    added: Sequence[str] = ()
    peaks: Sequence[str] = ()
    latest: Sequence[str] = ()


def add_to_buckets(model: type[models.Model], columns: Columns, points: Iterable[tuple[dict, datetime.datetime]]) -> int:
    """Add each (values, moment) to its bucket of every resolution, creating buckets as needed.
    `values` holds the key fields but the last two, and the merged fields. One statement for all
    (an upsert: two agents or collectors may add to one bucket at the same moment). Returns the
    rows written."""
    rows = []
    for values, moment in points:
        for resolution in RESOLUTIONS:
            row = {**values, columns.key[-2]: resolution.seconds, columns.key[-1]: bucket_start(moment, resolution.seconds)}
            rows.append(row)
    if not rows:
        return 0
    names = [*columns.key, *columns.added, *columns.peaks, *columns.latest]
    fields = [model._meta.get_field(name) for name in names]
    params = [[field.get_db_prep_save(row[field.name], connection) for field in fields] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(model, columns), params)
    return len(rows)


def _upsert_sql(model: type[models.Model], columns: Columns) -> str:
    # Django's bulk_create(update_conflicts=True) can only overwrite a column, not add to it; this
    # INSERT ... ON CONFLICT is the same on SQLite and PostgreSQL.
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)

    def column(name: str) -> str:
        return quote(model._meta.get_field(name).column)

    names = [*columns.key, *columns.added, *columns.peaks, *columns.latest]
    updates = [f"{column(n)} = {table}.{column(n)} + EXCLUDED.{column(n)}" for n in columns.added]
    updates += [f"{column(n)} = CASE WHEN EXCLUDED.{column(n)} > {table}.{column(n)} THEN EXCLUDED.{column(n)} "
                f"ELSE {table}.{column(n)} END" for n in columns.peaks]
    updates += [f"{column(n)} = EXCLUDED.{column(n)}" for n in columns.latest]
    return (f"INSERT INTO {table} ({', '.join(column(n) for n in names)}) VALUES ({', '.join(['%s'] * len(names))}) "
            f"ON CONFLICT ({', '.join(column(n) for n in columns.key)}) DO UPDATE SET {', '.join(updates)}")


def prune(model: type[models.Model], columns: Columns, now: datetime.datetime) -> int:
    """Delete the buckets each resolution no longer keeps; returns how many went."""
    resolution_field, start_field = columns.key[-2], columns.key[-1]
    deleted = 0
    for resolution in RESOLUTIONS:
        deleted += model.objects.filter(
            **{resolution_field: resolution.seconds, f"{start_field}__lt": now - resolution.keep}
        ).delete()[0]
    return deleted
