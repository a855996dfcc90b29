"""Server-rendered SVG charts: points where they belong, gaps, the limit line, the text summary."""
from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest

from core import svgchart
from core.svgchart import Chart, render
from core.units import format_bytes, format_count, format_cpu

SVG = "{http://www.w3.org/2000/svg}"
START = datetime.datetime(2026, 11, 27, 14, 0, tzinfo=datetime.timezone.utc)
STARTS = [START + datetime.timedelta(minutes=i) for i in range(5)]


def chart(values, limit=None) -> Chart:
    return Chart("memory", "Memory", "the last hour", STARTS, values, format_bytes, limit, binary=True)


def parsed(values, limit=None) -> ET.Element:
    return ET.fromstring(str(render(chart(values, limit))))


def points_of(element: ET.Element) -> list[tuple[float, float]]:
    return [tuple(float(n) for n in pair.split(",")) for pair in element.get("points").split()]


def test_it_places_each_point_by_its_bucket_and_value():
    svg = parsed([0, 50, 100, 50, 0])
    [line] = svg.iter(f"{SVG}polyline")
    xs, ys = zip(*points_of(line))
    left, right = svgchart.LEFT, svgchart.WIDTH - svgchart.RIGHT
    assert xs == tuple(left + (right - left) * i / 4 for i in range(5))
    base, top = svgchart.HEIGHT - svgchart.BOTTOM, svgchart.TOP
    assert ys[0] == ys[4] == base
    assert ys[2] == top  # 100 is the top of a 0..100 scale
    assert ys[1] == ys[3] == (base + top) / 2


def test_a_missing_bucket_is_a_gap_and_a_lone_point_a_dot():
    svg = parsed([10, 20, None, 30, None])
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 1 and len(points_of(lines[0])) == 2
    [dot] = svg.iter(f"{SVG}circle")
    assert float(dot.get("cx")) == svgchart.point_x(3, 5)


def test_it_draws_the_limit_as_a_dashed_line_inside_the_scale_and_names_it():
    svg = parsed([10 * 2**20, 120 * 2**20, None, None, 100 * 2**20], limit=128 * 2**20)
    [limit] = [e for e in svg.iter(f"{SVG}line") if e.get("class") == "limit"]
    assert limit.get("stroke-dasharray")
    y = float(limit.get("y1"))
    assert svgchart.TOP < y < svgchart.HEIGHT - svgchart.BOTTOM
    assert y == pytest.approx(svgchart.point_y(128 * 2**20, 200 * 2**20), abs=0.1)  # 128 MiB + 10 %: 200 MiB at the top
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "limit 128 MiB" in texts and "200 MiB" in texts


def test_it_summarises_the_chart_for_screen_readers():
    svg = parsed([10 * 2**20, 120 * 2**20, None, None, 100 * 2**20], limit=128 * 2**20)
    label = svg.get("aria-label")
    assert svg.get("role") == "img"
    assert label == "Memory over the last hour: highest 120 MiB at 14:01, latest 100 MiB, limit 128 MiB."
    assert svg.find(f"{SVG}title").text == label


def test_an_empty_series_says_no_data_yet():
    svg = parsed([None] * 5, limit=128 * 2**20)
    assert [t.text for t in svg.iter(f"{SVG}text") if t.text == "No data yet"] == ["No data yet"]
    assert not list(svg.iter(f"{SVG}polyline")) and not list(svg.iter(f"{SVG}circle"))
    assert svg.get("aria-label") == "Memory over the last hour: no data yet."


def test_it_labels_the_time_axis_and_the_top_of_the_scale():
    texts = [t.text for t in parsed([0, 1, 2, 3, 45 * 2**20]).iter(f"{SVG}text")]
    assert {"14:00", "14:02", "14:04"} <= set(texts)
    assert "50 MiB" in texts and "0 B" in texts


def test_text_in_the_chart_is_escaped():
    hostile = Chart("x", "<script>", "the last hour", STARTS, [1, 2, 3, 4, 5], lambda v: f"{v}<b>")
    out = str(render(hostile))
    assert "<script>" not in out and "<b>" not in out
    ET.fromstring(out)


def test_numbers_read_as_people_expect():
    assert (format_bytes(0), format_bytes(1536), format_bytes(128 * 2**20)) == ("0 B", "1.5 KiB", "128 MiB")
    assert (format_count(7), format_count(1200), format_count(2_500_000)) == ("7", "1.2k", "2.5M")
    assert (format_cpu(250), format_cpu(1500), format_cpu(3)) == ("25%", "150%", "0.3%")
    assert svgchart.nice_ceiling(0.7) == 1 and svgchart.nice_ceiling(130) == 200 and svgchart.nice_ceiling(0) == 1
    assert svgchart.nice_ceiling(2400) == 2500 and svgchart.nice_binary_ceiling(45 * 2**20) == 50 * 2**20
