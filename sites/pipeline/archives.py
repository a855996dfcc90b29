"""Source archives on the control plane (ARCHIVES_DIR/<deployment id>.<suffix>): their names, how
a new one is written, and their removal after their build.

A new deployment's archive is written under a staging name first and renamed to its deployment's
id in the transaction that creates the row (machine.deploy_source): writing it takes as long as
its size, and placement's host lock is held until that transaction commits.

The host that builds a deployment deletes its own copy when the build is over (sites.pipeline.tasks.build).
A host that shares no disk with the control plane fetched a copy over /internal/v1, so the control
plane's original stays behind: this sweep, run by beat on the control worker, removes archives whose
deployment is past its build (releasing or finished) or gone, and staging files a writer left.
An archive without a deployment row, or a staging file, is left alone for an hour: it may be
between its write and its row's commit.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Callable

from django.conf import settings

from sites.models import Deployment

ORPHAN_GRACE_SECONDS = 3600
STAGING_PREFIX = ".staging-"


def archive_path(deployment_id: int, suffix: str) -> Path:
    return Path(settings.ARCHIVES_DIR) / f"{deployment_id}{suffix}"


def find(deployment_id: int) -> Path | None:
    """The deployment's source archive, whatever its suffix, if it is here."""
    path = next(Path(settings.ARCHIVES_DIR).glob(f"{int(deployment_id)}.*"), None)
    return path if path is not None and path.is_file() else None


def stage(write_archive: Callable[[Callable[[str], Path]], None]) -> tuple[Path, str]:
    """Run `write_archive(path_for_suffix)` under a staging name; that path and the suffix it chose.
    Nothing is left behind when it fails."""
    staged: list[tuple[Path, str]] = []

    def path_for(suffix: str) -> Path:
        path = Path(settings.ARCHIVES_DIR) / f"{STAGING_PREFIX}{uuid.uuid4().hex}{suffix}"
        staged.append((path, suffix))
        return path

    try:
        write_archive(path_for)
    except BaseException:
        for path, _ in staged:
            path.unlink(missing_ok=True)
        raise
    [(path, suffix)] = staged
    return path, suffix


def sweep_source_archives(now: float | None = None) -> list[str]:
    """Remove the archives no build can still need; returns their names."""
    now = time.time() if now is None else now
    archives: dict[int, list[Path]] = {}
    removed = []
    for path in Path(settings.ARCHIVES_DIR).glob("*.*"):
        number = path.name.split(".", 1)[0]
        if number.isdigit() and path.is_file():
            archives.setdefault(int(number), []).append(path)
        elif path.name.startswith(STAGING_PREFIX) and now - path.stat().st_mtime > ORPHAN_GRACE_SECONDS:
            path.unlink(missing_ok=True)  # its writer died between writing and its deployment's row
            removed.append(path.name)
    states = dict(Deployment.objects.filter(pk__in=archives).values_list("pk", "state"))
    past_build = {Deployment.State.RELEASING, *Deployment.FINISHED}
    for deployment_id, paths in archives.items():
        state = states.get(deployment_id)
        for path in paths:
            orphan = state is None and now - path.stat().st_mtime > ORPHAN_GRACE_SECONDS
            if state in past_build or orphan:
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed
