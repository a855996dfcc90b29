"""Container limits from a site's plan (hosting may read plans from accounts)."""
from __future__ import annotations

from django.conf import settings

from accounts.models import Plan
from hosting.spec import ResourceLimits


def limits_for_plan(plan: Plan) -> ResourceLimits:
    return ResourceLimits(
        memory_mb=plan.memory_mb, cpu_millicores=plan.cpu_millicores, pids=plan.pids_limit, tmp_mb=plan.tmp_mb
    )


def network_for_plan(plan: Plan) -> str:
    """The site network a plan's containers join: the firewall lets only the SMTP network send mail."""
    return settings.SITE_SMTP_NETWORK if plan.smtp_allowed else settings.SITE_NETWORK
