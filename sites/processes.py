"""Process containers on a host's agent: start what the site's formation wants beside its web
instance, then stop what it no longer wants (see sites/formation.py for the rules).

Called after each switch (the new release's processes start once its web instance answers and
the edge was switched to it, then the old ones stop), after each scale, and after each reconcile
of the host (`start_missing_after_reconcile`): a process whose container vanished, or whose start
found no room, is started there. A process that crashes is restarted by Docker (on-failure, with
Docker's growing pause, 5 times) and then by every reconcile (each minute): the crash loop's
backoff is reconcile's, as for web instances.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Callable

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from core.errors import HostingError
from hosting import instances as fleet
from hosting.engine import ContainerEngine
from hosting.models import Host, Instance
from hosting.placement import NoRoomOnHost, ensure_room_on
from hosting.spec import ContainerSpec
from sites.formation import running_processes, wanted
from sites.models import Site
from sites.pipeline.machine import lock_site, promised
from sites.pipeline.release import release_container, with_writable_paths

log = logging.getLogger(__name__)

# A process that is still up this long after its start is started (it has no port to answer on).
SETTLE_SECONDS = 3.0

Stop = Callable[[Instance], None]


def converge(site_id: int, host: Host, engine: ContainerEngine, stop: Stop | None = None) -> list[str]:
    """Start on `host` the site's wanted processes that do not run (when its web instance is
    here), then hand every process of the site that is no longer wanted, on any host, to `stop`.
    Returns the names started."""
    site = (Site.objects.select_related("plan", "organization", "current_instance__host", "current_release__slug")
            .filter(pk=site_id).first())
    if site is None:
        return []
    names = wanted(site)
    started: list[str] = []
    if names and site.current_instance.host_id == host.pk:
        started = _start_missing(site, host, engine, names)
    if stop is not None:
        _stop_unwanted(site_id, stop)
    return started


def _stop_unwanted(site_id: int, stop: Stop) -> None:
    """What is unwanted is decided again, now, under the site's row lock: a switch may have gone
    through while this converge started containers (a drain right after a scale), and the new web
    instance's processes, started by another host's converge, are wanted then. (The stops are
    sent when this transaction commits.)"""
    with transaction.atomic():
        lock_site(Site(pk=site_id))
        site = (Site.objects.select_related("plan", "organization", "current_instance", "current_release__slug")
                .filter(pk=site_id).first())
        if site is None:
            return
        names = wanted(site)
        for instance in running_processes(site):
            if instance.name not in names:
                stop(instance)


def _start_missing(site: Site, host: Host, engine: ContainerEngine, names: dict[str, tuple[str, int]]) -> list[str]:
    here = list(running_processes(site).filter(host=host).values_list("name", flat=True))
    missing = [name for name in names if name not in here]
    if not missing:
        return []
    # The old release's processes on this host stop right after: their room is the new ones'.
    replaced = sum(1 for name in here if name not in names)
    if not _room_for(site, host, len(missing) - replaced):
        return []
    base, paths, _ = release_container(site, site.current_release, host, engine)
    commands = site.current_release.slug.processes
    started = []
    for name in missing:
        process, number = names[name]
        spec = ContainerSpec(**{**base, "env": {**base["env"], "DYNO": f"{process}.{number}"}},
                             instance=name.removeprefix(f"site-{site.name}-{site.current_release.label}-"),
                             command=with_writable_paths(("bash", "-c", commands[process]), paths), host_port=None)
        if fleet.start_process(engine, host, spec, process) is not None:
            started.append(spec.name)
            log.info("started %s", spec.name, extra={"site": site.name, "host": host.name})
    _report_crashes(site, engine, started)
    return started


def _room_for(site: Site, host: Host, count: int) -> bool:
    """Room on the web instance's host for `count` more of the plan's containers; when there is
    none, the site's audit log says so (once a day) and the next reconcile tries again."""
    try:
        ensure_room_on(host, site.plan.memory_mb * count, site.plan.cpu_millicores * count, promised)
        return True
    except NoRoomOnHost as exc:
        log.error("processes of %s wait for room: %s", site.name, exc, extra={"site": site.name, "host": host.name})
        recent = timezone.now() - timedelta(days=1)
        if not AuditEvent.objects.filter(organization=site.organization, action="site.processes_waiting",
                                         site_name=site.name, created_at__gte=recent).exists():
            audit.record(site.organization, "site.processes_waiting", site.name, site=site.name, reason=str(exc))
        return False


def _report_crashes(site: Site, engine: ContainerEngine, names: list[str]) -> None:
    """Processes that did not stay up SETTLE_SECONDS: the site's audit log gets their exit code and
    last lines (Docker and reconcile keep restarting them)."""
    if not names:
        return
    time.sleep(SETTLE_SECONDS)
    for name in names:
        try:
            inspected = engine.inspect(name)
            state = inspected.get("State", {})
            if state.get("Running") and not state.get("Restarting") and not inspected.get("RestartCount"):
                continue
            lines = engine.logs(name, tail=5).strip()[-500:]
        except HostingError:
            continue  # removed meanwhile (scaled down): nothing to report
        log.warning("process %s exited at start", name, extra={"site": site.name})
        audit.record(site.organization, "site.process_crashed", name, site=site.name,
                     exit_code=state.get("ExitCode"), output=lines)


def start_missing_after_reconcile(sender, host: Host, engine: ContainerEngine, **kwargs) -> int:
    """After each reconcile of `host`: every site served from it gets its missing processes (what
    is unwanted there reconcile has already removed)."""
    started = 0
    sites = Site.objects.filter(current_instance__host=host, desired_state=Site.DesiredState.RUNNING,
                                organization__suspended=False).exclude(formation={})
    for site_id in sites.values_list("pk", flat=True):
        try:
            started += len(converge(site_id, host, engine))
        except HostingError as exc:
            log.error("could not start processes: %s", exc, extra={"site": site_id, "host": host.name})
    return started


def stop_all(site: Site, stop: Stop) -> None:
    """Every process container of the site goes (the site stops or its organization is suspended)."""
    for instance in running_processes(site):
        stop(instance)
