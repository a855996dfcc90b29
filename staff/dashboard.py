"""The staff site's first page: the fleet, the sites and the support desk at a glance. The numbers
come from staff.fleet_summary and the charts from staff.fleet_charts, each in a fixed number of
queries; the template (staff/templates/admin/index.html) only lays them out."""
from __future__ import annotations

from django.utils import timezone

from staff import fleet_charts, fleet_summary


def context(request) -> dict:
    """What the dashboard template shows."""
    now = timezone.now()
    capacity = fleet_summary.fleet_capacity(now)
    return {
        "now": now,
        "capacity": capacity,
        "sites_by_status": fleet_summary.sites_by_status(),
        "failed_deployments": fleet_summary.failed_deployments(now),
        "tickets_by_age": fleet_summary.open_tickets_by_age(now),
        "edge": fleet_summary.edge_health(now),
        # The CPU chart's limit is the hosts' real CPUs, not what placement overcommits to.
        "charts": fleet_charts.fleet_charts(now, capacity.cpus * 1000, capacity.memory_mb),
    }

