"""Process types (Heroku's worker dynos): the rules of a site's formation.

A Procfile line other than `web:` and `release:` is a process type. Each runs as its own
containers, as many as the site's formation says (Heroku's default: 0 until scaled), with the
same container contract and the same release as the web instance, beside it on its host (so
they share /data), without a published port or a health check. Each container reserves the
plan's memory and CPU on that host; a plan allows `max_processes` of them per site.

Which containers should run is a function of the site alone (`wanted`): the current release's
process types, the formation, and the deployment whose web instance is current (its id names the
generation, so a new release, a restart or a move to another host gives new names and the old
containers are simply no longer wanted). The agent side that starts and stops them is
sites/processes.py.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from hosting.models import Instance
from hosting.placement import ensure_room_on
from hosting.spec import container_name
from sites.models import Release, Site
from sites.pipeline.machine import lock_site, promised

log = logging.getLogger(__name__)

# Not process types one scales: the web process runs one instance per site (the edge routes to
# it), and the release command runs once per release.
NOT_SCALED = ("web", "release")
MAX_PER_TYPE = 100  # far above any plan; a bound on what a request may even ask
# A site's instances are named after their deployment: site-<site>-<release>-d<deployment id> for
# the web one, site-<site>-<release>-<process>-<n>-d<deployment id> for the processes beside it.
DEPLOYMENT_OF_INSTANCE = re.compile(r"-d(\d+)$")


class Sender(Protocol):
    def converge_processes(self, site: Site) -> None:
        """Have the agent of the site's web host start and stop its processes (on commit)."""


@dataclass(frozen=True)
class ProcessType:
    name: str
    command: str
    quantity: int
    running: int


def process_types(release: Release | None) -> dict[str, str]:
    """The release's process types and their commands (its Procfile without web and release)."""
    if release is None:
        return {}
    return {name: command for name, command in sorted(release.slug.processes.items()) if name not in NOT_SCALED}


def formation_of(site: Site) -> list[ProcessType]:
    """Each process type of the current release with how many should run and how many do."""
    names = wanted(site)
    running = set(Instance.objects.filter(name__in=list(names), state=Instance.State.RUNNING)
                  .values_list("name", flat=True))
    return [ProcessType(name, command, site.formation.get(name, 0),
                        sum(1 for n in running if names[n][0] == name))
            for name, command in process_types(site.current_release).items()]


# --- naming and what should run ------------------------------------------------------------------


def instance_label(process: str, number: int, deployment_id: int) -> str:
    """`worker-2-d41`: a DNS label. A process name may hold `_`, which a label may not: it becomes
    `-` plus a short hash of the name, so `a_b` and `a-b` never share containers."""
    part = process
    if "_" in process:
        part = f"{process.replace('_', '-')}-{hashlib.sha256(process.encode()).hexdigest()[:4]}"
    # Ends in -d<deployment>, like the web instance of that deployment: a deleted site's purge
    # (sites/pipeline/deletion.py leftovers) finds them by that suffix.
    return f"{part}-{number}-d{deployment_id}"


def wanted(site: Site) -> dict[str, tuple[str, int]]:
    """{container name: (process type, number)} of the processes that should run now: none while
    the site is stopped, suspended or has no web instance; else the formation of the current
    release's types, named after the deployment whose web instance serves."""
    web = site.current_instance
    if (web is None or site.current_release is None or site.desired_state != Site.DesiredState.RUNNING
            or site.organization.suspended):
        return {}
    match = DEPLOYMENT_OF_INSTANCE.search(web.name)
    if match is None:
        return {}
    deployment_id = int(match.group(1))
    label = site.current_release.label
    names: dict[str, tuple[str, int]] = {}
    budget = site.plan.max_processes  # a plan made smaller since the scale: the first ones, up to it
    for process in process_types(site.current_release):
        for number in range(1, min(site.formation.get(process, 0), budget) + 1):
            names[container_name(site.name, label, instance_label(process, number, deployment_id))] = (process, number)
        budget -= min(site.formation.get(process, 0), budget)
    return names


def process_instance(site: Site, dyno: str) -> Instance | None:
    """The container of `dyno` (`worker.2`, as its DYNO variable says) that should run now, or
    None while it is not started; a dyno the formation does not run is a ValidationError naming
    the ones it does."""
    names = wanted(site)
    for name, (process, number) in names.items():
        if f"{process}.{number}" == dyno:
            return Instance.objects.select_related("host").filter(name=name, state__in=Instance.RESERVING).first()
    running = ", ".join(["web", *(f"{process}.{number}" for process, number in names.values())])
    raise ValidationError(f"No process {dyno[:40]} runs; this site runs {running}.")


def running_processes(site: Site):
    """The site's process containers that hold room on a host (any generation, any host)."""
    return Instance.objects.filter(site_label=site.name, state__in=Instance.RESERVING).exclude(
        process="").select_related("host")


def after_switch(instance_id: int, sender: Sender) -> None:
    """A deployment switched the site to this web instance: its processes follow it (the new
    release's start beside it, then the old ones stop)."""
    site = Site.objects.filter(current_instance_id=instance_id).select_related("current_instance__host").first()
    if site is not None and (site.formation or running_processes(site).exists()):
        sender.converge_processes(site)


def unwanted_processes(sender, instances, **kwargs) -> list:
    """Reconcile asks (hosting.reconcile.instances_unwanted): of these running instances, the
    process containers no site wants (an old release's, scaled away, a stopped, suspended or
    deleted site's)."""
    processes = [instance for instance in instances if instance.process]
    sites = {site.name: site for site in Site.objects.filter(name__in={p.site_label for p in processes})
             .select_related("plan", "organization", "current_instance", "current_release__slug")}
    wanted_by_site = {name: wanted(site) for name, site in sites.items()}
    return [p for p in processes if p.name not in wanted_by_site.get(p.site_label, {})]


# --- scaling -------------------------------------------------------------------------------------


def parse_changes(data) -> dict[str, int]:
    """`{"worker": 2}`: process type names and whole numbers; anything else is a clear error."""
    if not isinstance(data, dict) or not data:
        raise ValidationError('Send the process types to scale and their counts, e.g. {"worker": 2}.')
    changes = {}
    for name, quantity in data.items():
        if not isinstance(name, str) or len(name) > 30:
            raise ValidationError("A process type is a name from the Procfile.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_PER_TYPE:
            raise ValidationError(f"The count of {name} must be a whole number from 0 to {MAX_PER_TYPE}.")
        if name == "web":
            raise ValidationError("The web process runs one container per site; it is not scaled.")
        if name == "release":
            raise ValidationError("The release command runs once per release; it is not scaled.")
        changes[name] = quantity
    return changes


def scale(site: Site, data, sender: Sender, by=None) -> Site:
    """Set how many containers of each named process type run. The types must be in the current
    release's Procfile; the total must fit the plan's `max_processes` and, for the containers
    added, the web instance's host must have room (its memory and CPU). The agent of that host
    then starts or stops them; audited as `site.scale`."""
    changes = parse_changes(data)
    with transaction.atomic():
        lock_site(site)  # one change of the formation at a time, and not across a switch
        site = Site.objects.select_related("plan", "organization", "current_instance__host",
                                           "current_release__slug").get(pk=site.pk)
        types = _check_types(site, changes)
        # Types the current Procfile no longer declares run nothing and go (else their counts would
        # hold the plan's limit with no way to scale them down).
        before = {name: count for name, count in site.formation.items() if name in types}
        formation = {name: count for name, count in {**before, **changes}.items() if count}
        _check_plan(site, formation)
        _check_room(site, sum(formation.values()) - sum(before.values()))
        site.formation = formation
        site.save(update_fields=["formation"])
        audit.record(site.organization, "site.scale", site.name, site=site.name, by=by,
                     **{name: changes[name] for name in sorted(changes)})
        if site.current_instance is not None:
            sender.converge_processes(site)
    return site


def _check_types(site: Site, changes: dict[str, int]) -> dict[str, str]:
    """The current release's process types, when every type of `changes` is one of them."""
    types = process_types(site.current_release)
    for name in changes:
        if name in types:
            continue
        if site.current_release is None:
            raise ValidationError("Nothing is deployed yet: scale the process types of the Procfile after the first deploy.")
        declared = ", ".join(types) or "no process types other than web"
        raise ValidationError(f"The current release's Procfile has no {name!r} process (it declares {declared}).")
    return types


def _check_plan(site: Site, formation: dict[str, int]) -> None:
    total, allowed = sum(formation.values()), site.plan.max_processes
    if total > allowed:
        raise ValidationError(f"Your plan ({site.plan.label}) allows {allowed} process containers per site besides "
                              f"web; this formation asks for {total}.")


def _check_room(site: Site, more: int) -> None:
    """Containers added run beside the web instance: its host must have room for them now."""
    if more <= 0 or site.current_instance is None:
        return
    ensure_room_on(site.current_instance.host, site.plan.memory_mb * more, site.plan.cpu_millicores * more, promised)
