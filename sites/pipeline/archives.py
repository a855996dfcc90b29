"""Source archives on the control plane (ARCHIVES_DIR/<deployment id>.<suffix>) after their build.

The host that builds a deployment deletes its own copy when the build is over (sites.pipeline.tasks.build).
A host that shares no disk with the control plane fetched a copy over /internal/v1, so the control
plane's original stays behind: this sweep, run by beat on the control worker, removes archives whose
deployment is past its build (releasing or finished) or gone. An archive without a deployment row
is left alone for a while: the row is committed just after the archive is written (deploy_source).
"""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings

from sites.models import Deployment

ORPHAN_GRACE_SECONDS = 3600


def sweep_source_archives(now: float | None = None) -> list[str]:
    """Remove the archives no build can still need; returns their names."""
    now = time.time() if now is None else now
    archives: dict[int, list[Path]] = {}
    for path in Path(settings.ARCHIVES_DIR).glob("*.*"):
        number = path.name.split(".", 1)[0]
        if number.isdigit() and path.is_file():
            archives.setdefault(int(number), []).append(path)
    states = dict(Deployment.objects.filter(pk__in=archives).values_list("pk", "state"))
    past_build = {Deployment.State.RELEASING, *Deployment.FINISHED}
    removed = []
    for deployment_id, paths in archives.items():
        state = states.get(deployment_id)
        for path in paths:
            orphan = state is None and now - path.stat().st_mtime > ORPHAN_GRACE_SECONDS
            if state in past_build or orphan:
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed
