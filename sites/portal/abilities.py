"""Which buttons a site page shows: what the member's role may do to the site, asked of the same
role matrix the views enforce (a button shown is one that works; the view still checks)."""
from __future__ import annotations

from accounts.portal import current_membership
from accounts.roles import Action, changes_state, role_may
from sites.models import Site


def abilities(request, site: Site, *actions: Action) -> dict[str, bool]:
    """{action value: allowed} for the signed-in member of `site`'s organization (site_view made it
    the current one); changes are refused while the organization is suspended."""
    membership = current_membership(request)
    suspended = site.organization.suspended
    return {action.value: membership is not None and membership.organization_id == site.organization_id
            and role_may(membership.role, action) and not (suspended and changes_state(action))
            for action in actions}
