"""An agent that starts again finishes what its predecessor left half done on its host.

A deployment the previous agent was building or starting (killed, the machine rebooted) would
otherwise show "building" for ever, and its build, release-command or new-release container would
stay behind. The new agent fails each such deployment once, with a reason the customer can act
on, and removes those containers; the site's current instance is never touched, so the previous
release keeps serving. A late redelivery of the same task then finds the deployment finished and
does nothing (see the claims in sites/pipeline/machine.py).
"""
from __future__ import annotations

import logging
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hosting import instances as fleet
from hosting.engine import ContainerEngine
from hosting.spec import LABEL_INSTANCE
from hosting.models import Host, Instance
from sites.models import Deployment, Site
from sites.pipeline import machine
from sites.pipeline.tasks import SENDER

log = logging.getLogger(__name__)

# The instance label of a build ("u<deployment>") or release-command ("r<deployment>") container.
ONE_OFF = re.compile(r"[ur]\d+")
INTERRUPTED = "The agent of host {host} restarted during this deployment; push again (or redeploy)."


def interrupted_deployments(host: Host) -> list[Deployment]:
    """Deployments an agent of `host` had taken and not finished: building or releasing, with its
    task's id written by the claim. One whose task was never taken waits in the queue: its message
    is still to come, so it is left alone."""
    taken = Q(state__in=[Deployment.State.BUILDING, Deployment.State.RELEASING]) & ~Q(task_id="")
    return list(Deployment.objects.filter(taken, host_name=host.name).select_related("site"))


def fail_interrupted_deployments(host: Host, engine: ContainerEngine) -> int:
    failed = 0
    for deployment in interrupted_deployments(host):
        if _claim_failure(deployment):
            _remove_leftovers(deployment, host, engine)
            machine.record_failure(deployment, INTERRUPTED.format(host=host.name), SENDER)
            failed += 1
            log.warning("failed an interrupted deployment", extra={"deployment": deployment.pk, "host": host.name})
    return failed


def _claim_failure(deployment: Deployment) -> bool:
    """Mark the deployment failed unless it finished or went live meanwhile. The site's row is
    locked, as finish_deployment locks it: either the switch happened (its instance is current,
    left alone; finish_deployment marks it succeeded) or it will find the deployment failed."""
    with transaction.atomic():
        site = Site.objects.select_for_update().filter(pk=deployment.site_id).first()
        current = Instance.objects.filter(pk=site.current_instance_id).first() if site else None
        if current is not None and current.name.endswith(_own_suffix(deployment)):
            return False
        # Marked failed here (the log line follows in machine.record_failure), so nothing else claims it.
        return bool(Deployment.objects.filter(
            pk=deployment.pk, state__in=[Deployment.State.BUILDING, Deployment.State.RELEASING]
        ).update(state=Deployment.State.FAILED, error=INTERRUPTED.format(host=deployment.host_name),
                 finished_at=timezone.now()))


def _own_suffix(deployment: Deployment) -> str:
    return f"-d{deployment.pk}"


def _remove_leftovers(deployment: Deployment, host: Host, engine: ContainerEngine) -> None:
    """The deployment's own containers (build, release command, new release), by their labels."""
    own = {f"u{deployment.pk}", f"d{deployment.pk}", f"r{deployment.pk}"}
    for container in engine.list_site_containers(deployment.site.name):
        if container.labels.get(LABEL_INSTANCE) in own:
            engine.remove(container.name)
            log.info("removed %s", container.name, extra={"deployment": deployment.pk, "host": host.name})
    for instance in Instance.objects.filter(host=host, name__endswith=_own_suffix(deployment)).exclude(
            state=Instance.State.STOPPED).select_related("host"):
        fleet.discard_instance(engine, instance)


def remove_leftovers_of_failed(host: Host, engine: ContainerEngine) -> int:
    """Build and release-command containers of this host's deployments that failed while its agent
    was away: failover (sites/failover.py) failed them without the host, so no agent removed them.
    On start no task of this agent runs yet, so each is a leftover. (Instances are reconcile's.)"""
    by_deployment: dict[int, list[str]] = {}
    for container in engine.list_site_containers():
        label = container.labels.get(LABEL_INSTANCE, "")
        if ONE_OFF.fullmatch(label):
            by_deployment.setdefault(int(label[1:]), []).append(container.name)
    failed = Deployment.objects.filter(pk__in=list(by_deployment), host_name=host.name, state=Deployment.State.FAILED)
    removed = 0
    for deployment_id in failed.values_list("pk", flat=True):
        for name in by_deployment[deployment_id]:
            engine.remove(name)
            removed += 1
            log.info("removed %s", name, extra={"deployment": deployment_id, "host": host.name})
    return removed


def fail_interrupted_deployments_on_start(sender, host: Host, engine: ContainerEngine, **kwargs) -> int:
    failed = fail_interrupted_deployments(host, engine)
    remove_leftovers_of_failed(host, engine)
    return failed
