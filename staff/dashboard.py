"""The staff site's first page: the fleet, the sites and the support desk at a glance."""
from __future__ import annotations


def context(request) -> dict:
    """What the dashboard template shows (filled in by the dashboard work)."""
    return {}
