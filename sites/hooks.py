"""The pre-receive hook: a push to main (or master) deploys, and git hears the build as it runs.

Exit status 0 accepts the push; anything else rejects it and git leaves the ref where it was.
"""
from __future__ import annotations

import re
import time
from typing import TextIO

from django.core.exceptions import PermissionDenied, ValidationError

from core.errors import HostingError
from sites import git, services
from sites.logstream import DeploymentLog
from sites.models import Deployment, Site
from sites.validation import DEPLOY_BRANCHES

ZERO = "0" * 40
COMMIT = re.compile(r"^[0-9a-f]{40}$")
BRANCH_REF = re.compile(r"^refs/heads/[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
TAG_REF = re.compile(r"^refs/tags/[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def parse_updates(lines: list[str]) -> list[tuple[str, str, str]]:
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3 or not COMMIT.match(parts[0]) or not COMMIT.match(parts[1]):
            raise ValidationError(f"unexpected ref update {line!r}")
        ref = parts[2]
        if not (BRANCH_REF.match(ref) or TAG_REF.match(ref)) or ".." in ref or ref.endswith((".lock", "/")):
            raise ValidationError(f"{ref} is not an accepted branch or tag name (letters, digits, . _ / -).")
        updates.append((parts[0], parts[1], ref))
    return updates


def pre_receive(site_uuid: str, pusher, lines: list[str], out: TextIO, quarantine: dict[str, str]) -> int:
    """Deploy `pusher`'s push to main (or master); `quarantine` names where git keeps the push's objects."""
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    site = Site.objects.select_related("plan", "organization").filter(uuid=site_uuid).first()
    if site is None:
        say("This site no longer exists.")
        return 1
    try:
        updates = parse_updates(lines)
    except ValidationError as exc:
        say(" !     " + " ".join(exc.messages))
        return 1
    # Deleting branches and tags is always allowed: it is how a repository over its limit shrinks.
    limit = site.plan.build_disk_mb * 2**20
    only_deletions = all(new == ZERO for _, new, _ in updates)
    if not only_deletions and git.Repository.of(site).size() > limit:
        # Every branch and tag counts: a repository cannot grow past the plan's build disk.
        say(f" !     The repository would be larger than your plan allows ({site.plan.build_disk_mb} MB with every "
            "branch and tag); delete branches or tags you do not need, or change plans.")
        return 1
    deploying = [u for u in updates if u[2] in DEPLOY_BRANCHES]
    if any(new == ZERO for _, new, _ in deploying):
        say(" !     Deleting the deploy branch is not allowed.")
        return 1
    if not deploying:
        for _, _, ref in updates:
            say(f"Stored {ref}; push to main to deploy.")
        return 0
    _, commit, ref = sorted(deploying, key=lambda u: u[2] != "refs/heads/main")[0]
    branch = ref.rsplit("/", 1)[-1]

    def write_archive(path_for) -> None:
        path = path_for(".tar")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            git.Repository.of(site).export_commit(commit, path, site.plan.max_push_mb * 2**20 * 4, quarantine)
        except git.SourceTooLarge:
            raise ValidationError(f"The source of this commit unpacks to more than your plan allows "
                                  f"({site.plan.max_push_mb * 4} MB).") from None

    try:
        deployment = services.deploy_source(site, Deployment.Trigger.PUSH, f"{commit[:12]} ({branch})", write_archive,
                                            by=pusher)
    except (HostingError, ValidationError, PermissionDenied) as exc:  # PermissionDenied: suspended meanwhile
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        say(f" !     The push was not deployed: {message}")
        return 1
    return follow(deployment, say, timeout=site.plan.build_timeout_seconds * 2 + 300)


def follow(deployment: Deployment, say, timeout: float) -> int:
    """Relay the deployment's log until it ends; 0 when it succeeded."""
    stream = DeploymentLog(deployment.id)
    state = {"value": deployment.state}

    def finished() -> bool:
        state["value"] = Deployment.objects.values_list("state", flat=True).get(pk=deployment.pk)
        return state["value"] in Deployment.FINISHED

    started = time.monotonic()
    with stream:
        for line in stream.follow(finished, timeout=timeout):
            say(line)
    finished()  # the end mark comes after the row is committed: read the outcome it marks
    if state["value"] == Deployment.State.SUCCEEDED:
        deployment.refresh_from_db()
        say(f"Deployed in {time.monotonic() - started:.1f} s: {deployment.site.url}")
        return 0
    if state["value"] not in Deployment.FINISHED:
        say(" !     Gave up waiting for the deployment; see its log in the API.")
    return 1
