"""Changing an organization's plan: staff in the admin and operators (`manage.py set_plan`) call
`change_plan`, so both record the same event and apply the limits the same way."""
from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import Organization, Plan
from sites.models import Site

log = logging.getLogger(__name__)

# Shown to staff and written into the event: what a plan change does to running sites.
WHEN_IT_APPLIES = ("New limits (memory, CPU, disk, processes) apply to each site's next release or restart; "
                   "running containers keep their limits until then. Site and domain quotas apply at once.")


def plan_named(name: str) -> Plan:
    """The plan called `name`, or a ValidationError listing the plans there are."""
    plan = Plan.objects.filter(name=name).first()
    if plan is None:
        names = ", ".join(Plan.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise ValidationError(f"There is no plan named {name!r}; the plans are: {names}.")
    return plan


@transaction.atomic
def change_plan(organization: Organization, plan: Plan, by=None) -> int:
    """Put `organization` and each of its sites on `plan` and record it in the organization's audit
    log (the customer sees it there, and the plan on their usage page). Sites read their limits
    from `Site.plan` when a container is created, so running containers are untouched: the limits
    apply to the next release. Returns the number of sites moved."""
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    previous = locked.plan
    if previous.pk == plan.pk:
        return 0
    Organization.objects.filter(pk=locked.pk).update(plan=plan)
    moved = Site.objects.filter(organization=locked).update(plan=plan)
    organization.plan = plan
    audit.record(organization, "staff.organization.plan", organization.slug, by=by,
                 before=previous.name, after=plan.name, sites=moved)
    log.warning("organization moved from plan %s to %s", previous.name, plan.name,
                extra={"organization": organization.slug})
    return moved


def over_quota(slug: str, sites: int, plan: Plan) -> str:
    """A warning when an organization keeps more sites than `plan` allows (they keep running; no
    new one can be made), else ""."""
    if sites <= plan.max_sites:
        return ""
    return f" {slug} has {sites} sites, more than {plan.label}'s {plan.max_sites}: they keep them but cannot create more."
