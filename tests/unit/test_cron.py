"""The cron parser of scheduled jobs (sites/cron.py): what it accepts, how it refuses, when a
schedule fires next."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sites import cron

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_it_reads_lists_ranges_steps_and_names():
    schedule = cron.parse("0,30 9-17/4 * jan-mar mon-fri")
    assert schedule.minutes == {0, 30}
    assert schedule.hours == {9, 13, 17}
    assert schedule.months == {1, 2, 3}
    assert schedule.weekdays == {1, 2, 3, 4, 5}


def test_it_counts_7_as_sunday_and_reads_the_shorthands():
    assert cron.parse("0 0 * * 7").weekdays == {0}
    assert cron.parse("@daily").text == "@daily"
    assert cron.parse("@daily").next_after(at("2026-11-29T08:40")) == at("2026-11-30T00:00")


@pytest.mark.parametrize("text, says", [
    ("* * * *", "has 4 fields"),
    ("* * * * * *", "has 6 fields"),
    ("61 * * * *", "minute field: 61 is out of range 0-59"),
    ("* 24 * * *", "hour field: 24 is out of range 0-23"),
    ("* * 0 * *", "day of month field: 0 is out of range 1-31"),
    ("* * * 13 *", "month field: 13 is out of range 1-12"),
    ("* * * * 8", "day of week field: 8 is out of range 0-7"),
    ("*/0 * * * *", "step in '*/0' must be a whole number above 0"),
    ("5-1 * * * *", "runs backwards"),
    ("1,,2 * * * *", "empty item"),
    ("x * * * *", "'x' in 'x' is not a number"),
    ("* * * smarch *", "not a number or a name like 'jan'"),
    ("@often", "not a known shorthand"),
    ("0 0 31 2 *", "never fires"),
    ("* * * * *\n", "control characters"),
    ("*" + " *" * 60, "at most 100 characters"),
])
def test_it_refuses_a_bad_schedule_and_names_the_fault(text, says):
    with pytest.raises(cron.CronError) as refused:
        cron.parse(text)
    assert says in str(refused.value)


@pytest.mark.parametrize("text, after, expected", [
    ("* * * * *", "2026-11-29T08:40:30", "2026-11-29T08:41"),
    ("*/15 * * * *", "2026-11-29T08:40", "2026-11-29T08:45"),
    ("0 3 * * mon", "2026-11-29T08:40", "2026-11-30T03:00"),  # the 29th is a Sunday
    ("0 3 * * *", "2026-11-29T03:00", "2026-11-30T03:00"),  # strictly after
    ("30 23 31 * *", "2026-11-29T00:00", "2026-12-31T23:30"),  # November has no 31st
    ("0 0 1 1 *", "2026-11-29T00:00", "2027-01-01T00:00"),
    ("0 12 29 2 *", "2026-03-01T00:00", "2028-02-29T12:00"),
    # Both days restricted: either one fires (Vixie cron): the 1st, or any Friday.
    ("0 6 1 * fri", "2026-11-29T00:00", "2026-12-01T06:00"),
    ("0 6 15 * fri", "2026-12-01T07:00", "2026-12-04T06:00"),
    # Day of month restricted, day of week `*`: only the date counts.
    ("0 6 15 * *", "2026-12-01T07:00", "2026-12-15T06:00"),
])
def test_it_finds_the_next_minute_a_schedule_fires(text, after, expected):
    assert cron.parse(text).next_after(at(after)) == at(expected)


def test_it_normalises_spacing():
    assert cron.parse("  0   3 * *  * ").text == "0 3 * * *"
