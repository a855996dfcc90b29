"""Line charts as inline SVG, rendered on the server: no JavaScript, readable by screen readers.

A chart has one value per bucket of time (None: nothing measured, drawn as a gap), its time and
value axes labelled, and optionally a limit drawn as a dashed line inside the scale, so that a
series running close to it is seen at a glance. The SVG is an image with a text summary
(`role="img"`, `aria-label`, `<title>`): the highest and the latest value, and the limit.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Callable, Sequence

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 480, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 20, 28  # room for the labels around the plot
LINE = "#1f5fbf"  # 5.6:1 on white
LIMIT = "#b42318"  # 6.4:1 on white
TEXT = "#4f5b6b"  # 6.9:1 on white
GRID = "#d5dbe3"


@dataclass(frozen=True)
class Chart:
    key: str  # names the chart on the page (data-chart)
    title: str  # "Memory"
    period: str  # "the last hour"
    starts: Sequence[datetime.datetime]  # the buckets' starts, oldest first
    values: Sequence[float | None]  # one per bucket
    format_value: Callable[[float], str]
    limit: float | None = None
    limit_label: str = "limit"
    binary: bool = False  # bytes: the top of the scale is round in KiB, MiB, GiB


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (a round axis top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


def nice_binary_ceiling(value: float) -> float:
    """nice_ceiling in the binary unit of `value` (a scale of bytes tops out at 200 MiB, not 209.7)."""
    unit = 1
    while value >= unit * 1024:
        unit *= 1024
    return nice_ceiling(value / unit) * unit


def scale_top(chart: Chart) -> float:
    highest = max([v for v in chart.values if v is not None] + [chart.limit or 0])
    # Room above a limit, so its line and label stay inside the plot.
    highest = highest * 1.1 if chart.limit else highest
    return nice_binary_ceiling(highest) if chart.binary else nice_ceiling(highest)


def point_x(index: int, count: int) -> float:
    width = WIDTH - LEFT - RIGHT
    return LEFT + (width / 2 if count == 1 else width * index / (count - 1))


def point_y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * min(value / top, 1.0)


def time_label(moment: datetime.datetime, seconds: int) -> str:
    local = timezone.localtime(moment)
    return local.strftime("%a %H:%M" if seconds >= 600 else "%H:%M")


def summary(chart: Chart) -> str:
    known = [(v, s) for v, s in zip(chart.values, chart.starts) if v is not None]
    text = f"{chart.title} over {chart.period}: "
    if not known:
        return text + "no data yet."
    seconds = _bucket_seconds(chart)
    peak, peak_at = max(known, key=lambda pair: pair[0])
    text += (f"highest {chart.format_value(peak)} at {time_label(peak_at, seconds)}, "
             f"latest {chart.format_value(known[-1][0])}")
    if chart.limit:
        text += f", {chart.limit_label} {chart.format_value(chart.limit)}"
    return text + "."


def _bucket_seconds(chart: Chart) -> int:
    if len(chart.starts) < 2:
        return 60
    return int((chart.starts[1] - chart.starts[0]).total_seconds())


def segments(values: Sequence[float | None]) -> list[list[int]]:
    """Runs of indexes with a value; a None between them is a gap."""
    runs: list[list[int]] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def render(chart: Chart) -> SafeString:
    label = summary(chart)
    parts = [
        f'<svg class="chart" data-chart="{escape(chart.key)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="13">',
        f'<title>{escape(label)}</title>',
    ]
    if all(value is None for value in chart.values):
        parts += _frame(None, chart)
        parts.append(f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle" fill="{TEXT}" '
                     f'font-size="15">No data yet</text>')
    else:
        top = scale_top(chart)
        parts += _frame(top, chart)
        parts += _series(chart, top)
        if chart.limit:
            parts += _limit(chart, top)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()


def _frame(top: float | None, chart: Chart) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{TEXT}" stroke-width="1"/>']
    if top is not None:
        parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" stroke="{GRID}" stroke-width="1"/>')
        for value, y in ((top, TOP), (0, base)):
            parts.append(f'<text x="{LEFT - 6}" y="{y + 5}" text-anchor="end" fill="{TEXT}">'
                         f'{escape(chart.format_value(value))}</text>')
    count, seconds = len(chart.starts), _bucket_seconds(chart)
    for index, anchor in ((0, "start"), (count // 2, "middle"), (count - 1, "end")):
        if 0 <= index < count:
            parts.append(f'<text x="{point_x(index, count):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
                         f'fill="{TEXT}">{escape(time_label(chart.starts[index], seconds))}</text>')
    return parts


def _series(chart: Chart, top: float) -> list[str]:
    count, base = len(chart.values), HEIGHT - BOTTOM
    parts = []
    for run in segments(chart.values):
        points = [(point_x(i, count), point_y(chart.values[i], top)) for i in run]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE}"/>')
            continue
        area = f"{points[0][0]:.1f},{base} {line} {points[-1][0]:.1f},{base}"
        parts.append(f'<polygon class="area" points="{area}" fill="{LINE}" fill-opacity="0.15"/>')
        parts.append(f'<polyline class="line" points="{line}" fill="none" stroke="{LINE}" stroke-width="2" '
                     f'stroke-linejoin="round"/>')
    return parts


def _limit(chart: Chart, top: float) -> list[str]:
    y = point_y(chart.limit, top)
    text = f"{chart.limit_label} {chart.format_value(chart.limit)}"
    return [
        f'<line class="limit" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{LIMIT}" '
        f'stroke-width="1.5" stroke-dasharray="6 4"/>',
        f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end" fill="{LIMIT}">{escape(text)}</text>',
    ]
