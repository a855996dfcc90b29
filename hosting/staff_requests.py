"""What staff ask of the hosts' agents from the staff site: re-read capacity, build the runtime
images a host lacks. Each request goes to the host's own queue (hosting.tasks) and is recorded in
the audit log as a platform-wide event (no organization)."""
from __future__ import annotations

from typing import Iterable

from accounts import audit
from hosting import tasks
from hosting.models import Host


def refresh_capacity(hosts: Iterable[Host], by) -> list[str]:
    """Ask each host's agent to re-read its daemon's capacity (what its heartbeat does anyway:
    harmless, so support staff may ask too); returns the hosts' names."""
    names = []
    for host in hosts:
        tasks.request_capacity_refresh(host)
        names.append(host.name)
    if names:
        audit.record(None, "staff.host.refresh_capacity", ", ".join(names), by=by, hosts=names)
    return names


def build_images(hosts: Iterable[Host], by) -> tuple[list[str], list[str]]:
    """Ask each live host's agent to build the catalog's images it lacks and record what it has
    (images are built from their recipes on the host, never pulled). A down host is skipped: its
    agent builds what it lacks when staff ask again after it is back. Returns (asked, skipped)."""
    asked, skipped = [], []
    for host in hosts:
        if host.is_up():
            tasks.request_image_builds(host)
            asked.append(host.name)
        else:
            skipped.append(host.name)
    if asked:
        audit.record(None, "staff.images.build", ", ".join(asked), by=by, hosts=asked, skipped=skipped)
    return asked, skipped
