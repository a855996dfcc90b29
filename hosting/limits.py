"""Container limits from a site's plan (hosting may read plans from accounts)."""
from __future__ import annotations

from accounts.models import Plan
from hosting.engine import ResourceLimits


def limits_for_plan(plan: Plan) -> ResourceLimits:
    return ResourceLimits(
        memory_mb=plan.memory_mb, cpu_millicores=plan.cpu_millicores, pids=plan.pids_limit, tmp_mb=plan.tmp_mb
    )
