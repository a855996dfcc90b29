"""Cron schedules: the five fields (minute hour day-of-month month day-of-week) checked with errors a
person can act on, and the next minute a schedule fires. Times are UTC.

Written here rather than taken from a library: none is installed, and the platform needs only
the classic fields (lists, ranges, steps, month and day names, the @daily-style shorthands).
Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither starts with
`*`), a day matching either fires.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_LENGTH = 100
# A schedule that fires on a date that comes back only every few years (29 February on a Monday)
# is still a schedule; one that never fires (31 February) is refused. 28 years: the calendar repeats.
SEARCH_DAYS = 28 * 366

MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
WEEKDAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
SHORTHANDS = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}
FORM = "five fields: minute hour day-of-month month day-of-week, like '*/15 * * * *' or '0 3 * * mon'"


class CronError(ValueError):
    """A schedule that is not valid cron; the message says which field and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, MONTHS),
    _Field("day of week", 0, 7, WEEKDAYS),  # 7 is Sunday too
)


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def fires_on(self, day: datetime) -> bool:
        """Whether the schedule fires on some minute of `day` (its date only)."""
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_date or by_weekday
        return by_date and by_weekday

    def matches(self, moment: datetime) -> bool:
        return moment.minute in self.minutes and moment.hour in self.hours and self.fires_on(moment)

    def next_after(self, moment: datetime) -> datetime:
        """The first minute strictly after `moment` at which the schedule fires (same tzinfo)."""
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for offset in range(SEARCH_DAYS):
            current = day + timedelta(days=offset)
            if not self.fires_on(current):
                continue
            found = self._first_minute(current, start if offset == 0 else current)
            if found is not None:
                return found
        raise CronError(f"{self.text!r} never fires.")

    def _first_minute(self, day: datetime, earliest: datetime) -> datetime | None:
        for hour in sorted(self.hours):
            if hour < earliest.hour:
                continue
            for minute in sorted(self.minutes):
                if hour == earliest.hour and minute < earliest.minute:
                    continue
                return day.replace(hour=hour, minute=minute)
        return None


def parse(text: str) -> Cron:
    """The schedule `text` as a Cron, or CronError with the field at fault."""
    if not isinstance(text, str):
        raise CronError(f"A schedule is text: {FORM}.")
    if len(text) > MAX_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise CronError(f"A schedule is at most {MAX_LENGTH} characters, without control characters.")
    clean = " ".join(text.split())
    expanded = SHORTHANDS.get(clean.lower(), clean)
    if expanded.startswith("@"):
        raise CronError(f"{clean!r} is not a known shorthand; use one of {', '.join(sorted(SHORTHANDS))}, or {FORM}.")
    parts = expanded.split(" ")
    if len(parts) != 5:
        raise CronError(f"{clean!r} has {len(parts)} field{'s' if len(parts) != 1 else ''}; a schedule has {FORM}.")
    values = [_parse_field(part, spec) for part, spec in zip(parts, FIELDS)]
    weekdays = frozenset(0 if day == 7 else day for day in values[4])
    cron = Cron(text=clean, minutes=values[0], hours=values[1], days=values[2], months=values[3], weekdays=weekdays,
                days_restricted=not parts[2].startswith("*"), weekdays_restricted=not parts[4].startswith("*"))
    cron.next_after(datetime(2000, 1, 1))  # refuses a schedule that never fires (31 February)
    return cron


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values |= _parse_item(item, spec)
    return frozenset(values)


def _parse_item(item: str, spec: _Field) -> set[int]:
    where = f"The {spec.name} field"
    if not item:
        raise CronError(f"{where} has an empty item (two commas, or a trailing comma).")
    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{where}: the step in {item!r} must be a whole number above 0.")
        step = int(step_text)
    if body == "*":
        low, high = spec.low, spec.high if spec.names is not WEEKDAYS else 6
    else:
        first, dash, last = body.partition("-")
        low = _value(first, spec, item)
        high = _value(last, spec, item) if dash else (spec.high if slash else low)
        if low > high:
            raise CronError(f"{where}: the range {item!r} runs backwards.")
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field, item: str) -> int:
    where = f"The {spec.name} field"
    if spec.names and text.lower() in spec.names:
        return spec.names[text.lower()]
    if not text.isdigit():
        named = f" or a name like {next(iter(spec.names))!r}" if spec.names else ""
        raise CronError(f"{where}: {text!r} in {item!r} is not a number{named}.")
    number = int(text)
    if not spec.low <= number <= spec.high:
        raise CronError(f"{where}: {number} is out of range {spec.low}-{spec.high}.")
    return number
