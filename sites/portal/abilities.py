"""Which buttons a page shows: what the member's role may do, asked of the same role matrix the
views enforce (a hidden button is a courtesy, not the check: the view still asks on every request)."""
from __future__ import annotations

from accounts.portal import current_membership
from accounts.roles import Action, changes_state, role_may
from sites.models import Site


def abilities(request, site: Site | None = None, *actions: Action) -> dict[str, bool]:
    """{action value: allowed} (`can.operate`, `can.delete_site` in a template) for the member's
    current organization, or for `site`'s (site_view made it the current one); changes are refused
    while the organization is suspended. Without `actions`: every action."""
    membership = current_membership(request)
    organization = site.organization if site is not None else (membership.organization if membership else None)
    suspended = bool(organization and organization.suspended)
    return {action.value: membership is not None and organization is not None
            and membership.organization_id == organization.id
            and role_may(membership.role, action) and not (suspended and changes_state(action))
            for action in (actions or tuple(Action))}
