"""Applying the whole edge config now (render, `nginx -t`, reload), recording how it went for staff."""
from __future__ import annotations

import logging

from django.utils import timezone

from proxy.edge import EdgeConfigInvalid, EdgeNginx
from proxy.models import EdgeState

log = logging.getLogger(__name__)


def apply_edge() -> None:
    """Render, check and reload the whole edge config now; a refused config keeps the previous one serving."""
    EdgeState.objects.get_or_create(pk=1)
    started = timezone.now()
    try:
        EdgeNginx.from_settings().apply()
    except EdgeConfigInvalid as exc:
        EdgeState.objects.filter(pk=1).update(failed_at=timezone.now(), error=str(exc))
        log.error("edge config refused; the previous one keeps serving: %s", exc)
        raise
    EdgeState.objects.filter(pk=1).update(
        applied_at=timezone.now(), apply_seconds=(timezone.now() - started).total_seconds(), error=""
    )
