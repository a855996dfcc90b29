"""Site page: metrics. CPU, memory, requests and bytes over the last hour, day or week, drawn as SVG
on the server (core.svgchart) from sites.metrics; the charts refresh themselves with htmx."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from core.svgchart import Chart, render
from core.timeseries import WINDOWS
from core.units import format_bytes, format_count, format_cpu
from sites.metrics import SiteSeries, disk_usage, site_series
from sites.portal.base import site_view
from sites.portal.pages import render_tab

PERIODS = {"hour": "the last hour", "day": "the last day", "week": "the last week"}
REFRESH_SECONDS = {"hour": 30, "day": 300, "week": 1800}


def site_charts(series: SiteSeries) -> list[dict]:
    """The four charts of the page, each with its heading and its SVG."""
    period = PERIODS[series.window.name]
    per = {60: "minute", 600: "10 minutes", 3600: "hour"}[series.seconds]
    charts = [
        ("cpu", "CPU", "CPU (average, % of one core)", series.cpu_millicores, format_cpu, series.cpu_limit_millicores),
        ("memory", "Memory", "Memory (highest)", series.memory_bytes, format_bytes, series.memory_limit_bytes),
        ("requests", "Requests", f"Requests per {per}", series.requests, format_count, None),
        ("bandwidth", "Bandwidth", f"Bytes sent per {per}", series.bytes_sent, format_bytes, None),
    ]
    return [
        {"key": key, "heading": heading,
         "svg": render(Chart(key, title, period, series.starts, values, fmt, limit, binary=fmt is format_bytes))}
        for key, title, heading, values, fmt, limit in charts
    ]


@site_view(GET=Action.READ)
def metrics(request, site):
    window = request.GET.get("window", "hour")
    if window not in WINDOWS:
        window = "hour"
    # Only the charts when htmx swaps them (window switch, refresh); the whole page otherwise.
    template = "sites/metrics_charts.html" if request.htmx.target == "charts" else "sites/metrics.html"
    disk = disk_usage(site)
    return render_tab(
        request, site, "metrics", template,
        window=window, windows=[(name, PERIODS[name]) for name in WINDOWS], refresh=REFRESH_SECONDS[window],
        charts=site_charts(site_series(site, window)), disk=disk,
        disk_used=disk and format_bytes(disk.used_bytes), disk_size=disk and format_bytes(disk.size_bytes),
    )


urlpatterns = [
    path("sites/<str:name>/metrics/", metrics, name="metrics"),
]
