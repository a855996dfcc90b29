"""What the staff's site page shows besides the site's fields: its host and containers, current
release, domains, recent deployments, the container's last lines, charts, env var names and disk.

Each part is read here from the same services the portal reads (sites.runtime_logs, sites.metrics,
sites.portal.metrics' charts); nothing of a config value is ever read.
"""
from __future__ import annotations

from typing import Iterable
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.timeseries import WINDOWS
from core.units import format_bytes
from hosting.models import Instance
from proxy import services as proxy
from sites import runtime_logs
from sites.metrics import disk_usage, site_series
from sites.models import Deployment, Site
from sites.portal.metrics import PERIODS, site_charts

RECENT_DEPLOYMENTS = 10
RECENT_INSTANCES = 5
LOG_LINES = 50


def site_page_context(request: HttpRequest, site: Site, actions: dict[str, tuple]) -> dict:
    """The change page's extra context for `site`."""
    window = request.GET.get("window", "day")
    window = window if window in WINDOWS else "day"
    disk = disk_usage(site)
    return {
        "site": site,
        "site_actions": [(name, label) for name, (_, permission, label) in actions.items()
                         if request.user.has_perm(permission)],
        "can_verify_by_hand": request.user.has_perm("sites.verify_domain_by_hand"),
        "instance": site.current_instance,
        "instances": Instance.objects.filter(site_label=site.name).select_related("host")[:RECENT_INSTANCES],
        "release": site.current_release,
        "domains": _domains(site),
        "deployments": site.deployments.select_related("created_by").defer("log")[:RECENT_DEPLOYMENTS],
        "deployments_url": f"{reverse('admin:sites_deployment_changelist')}?site__id__exact={site.pk}",
        "audit_url": f"{reverse('admin:accounts_auditevent_changelist')}?"
                     f"{urlencode({'organization__id__exact': site.organization_id, 'site_name': site.name})}",
        "container": runtime_logs.container_report(site, LOG_LINES),
        "window": window, "windows": [(name, PERIODS[name]) for name in WINDOWS],
        "charts": site_charts(site_series(site, window)),
        "env_names": list(site.env_vars.values_list("key", flat=True)),  # names only: values stay encrypted
        "disk": disk, "disk_used": disk and format_bytes(disk.used_bytes),
        "disk_size": disk and format_bytes(disk.size_bytes),
    }


def _domains(site: Site) -> list[dict]:
    """The site's domains with their verification and certificate state, in two queries."""
    rows = list(site.domains.order_by("-is_default", "hostname"))
    certificates = proxy.certificate_summaries([domain.hostname for domain in rows])
    return [{"domain": domain, "certificate": certificates.get(domain.hostname)} for domain in rows]


def deployment_links(deployments: Iterable[Deployment], more_query: str):
    """A list of deployments as links to their pages, and one to all of them."""
    items = format_html_join("", '<li><a href="{}">#{}</a> {} {} {}</li>', (
        (reverse("admin:sites_deployment_change", args=[d.pk]), d.pk, d.trigger, d.state, d.created_at)
        for d in deployments))
    everything = f"{reverse('admin:sites_deployment_changelist')}{more_query}"
    return format_html('<ul class="staff-list">{}</ul><a href="{}">All of them</a>', items, everything)
