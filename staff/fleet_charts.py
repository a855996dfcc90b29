"""The dashboard's charts: the whole fleet's CPU, memory and requests over the last day, summed
over every site in SQL (one query per source, however many sites), drawn by core.svgchart like a
site's own metrics page (sites/portal/metrics.py)."""
from __future__ import annotations

import datetime

from django.db.models import F, FloatField, Sum
from django.db.models.functions import Cast, NullIf

from core.svgchart import Chart, render
from core.timeseries import WINDOWS
from core.units import format_bytes, format_count, format_cpu
from hosting.models import UsageSample
from proxy.models import SiteTraffic

WINDOW = WINDOWS["day"]
MB = 2**20


def fleet_series(now: datetime.datetime) -> dict[str, list]:
    """{"starts", "cpu_millicores", "memory_bytes", "requests"}: one value per ten minutes of the last
    day. CPU is the sum of each site's average, memory the sum of each site's highest in the bucket;
    a bucket no host sampled is None (a gap), one the edge served nothing in is 0 requests."""
    starts = WINDOW.starts(now)
    seconds = WINDOW.resolution.seconds
    average = Cast(F("cpu_millicores_sum"), FloatField()) / NullIf(F("cpu_samples"), 0)
    usage = {row["start"]: row for row in UsageSample.objects.filter(resolution=seconds, start__gte=starts[0])
             .order_by().values("start").annotate(cpu=Sum(average), memory=Sum("memory_max_bytes"))}
    traffic = dict(SiteTraffic.objects.filter(resolution=seconds, minute__gte=starts[0]).order_by()
                   .values("minute").annotate(requests=Sum("requests")).values_list("minute", "requests"))
    return {
        "starts": starts,
        "cpu_millicores": [usage[s]["cpu"] if s in usage else None for s in starts],
        "memory_bytes": [usage[s]["memory"] if s in usage else None for s in starts],
        "requests": [traffic.get(s, 0) for s in starts],
    }


def fleet_charts(now: datetime.datetime, cpu_capacity_millicores: int, memory_mb: int) -> list[dict]:
    """The three charts, each with its heading and SVG; the hosts' capacity drawn as the limit."""
    series = fleet_series(now)
    charts = [
        ("fleet-cpu", "CPU (sum of the sites' averages)", series["cpu_millicores"], format_cpu,
         cpu_capacity_millicores or None, "the hosts' CPUs"),
        ("fleet-memory", "Memory (sum of the sites' highest)", series["memory_bytes"], format_bytes,
         memory_mb * MB or None, "the hosts' memory"),
        ("fleet-requests", "Requests per 10 minutes", series["requests"], format_count, None, "limit"),
    ]
    return [
        {"key": key, "heading": title,
         "svg": render(Chart(key, title, "the last day", series["starts"], values, fmt, limit, limit_label,
                             binary=fmt is format_bytes))}
        for key, title, values, fmt, limit, limit_label in charts
    ]
