"""Site pages: runtime logs, the last lines of the running container, followed by polling.

Following polls `logs-tail` every 2 s with htmx rather than holding a stream open: a portal worker
is never tied up by a tab left open (see FACTS.md on long-lived streams)."""
from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from accounts.roles import Action
from sites import runtime_logs
from sites.models import Site
from sites.portal.base import site_view
from sites.portal.pages import render_tab

LINE_CHOICES = (100, 500, 1000)


def _lines(request) -> int:
    """The number of lines asked for, one of LINE_CHOICES (the first when the query is anything else)."""
    asked = request.GET.get("lines", "")
    return int(asked) if asked.isdigit() and int(asked) in LINE_CHOICES else LINE_CHOICES[0]


def _output(site: Site, lines: int) -> dict:
    try:
        log_lines, unavailable = runtime_logs.tail(site, lines), ""
    except runtime_logs.LogsUnavailable as exc:  # the page still shows, and says why the lines are missing
        log_lines, unavailable = [], str(exc)
    silence = runtime_logs.silence(site)
    return {"lines": lines, "log_lines": log_lines, "unavailable": unavailable, "running": not silence,
            "silence": silence}


@site_view(GET=Action.READ_LOGS)
def logs(request, site: Site):
    lines = _lines(request)
    return render_tab(request, site, "logs", "sites/logs.html", line_choices=LINE_CHOICES,
                      following=request.GET.get("follow") == "1", **_output(site, lines))


@site_view(GET=Action.READ_LOGS)
def logs_tail(request, site: Site):
    """The log's <pre> alone, for the page's poll."""
    return render(request, "sites/logs_output.html", {"site": site, **_output(site, _lines(request))})


urlpatterns = [
    path('sites/<str:name>/logs/', logs, name='logs'),
    path('sites/<str:name>/logs/tail/', logs_tail, name='logs-tail'),
]
