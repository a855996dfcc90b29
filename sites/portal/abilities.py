"""What the signed-in member's role lets them do in the organization they work in, for templates.

Pages show only the buttons a role may use (the views still ask the role matrix on every request:
a hidden button is a courtesy, not the check)."""
from __future__ import annotations

from accounts.portal import current_membership
from accounts.roles import Action, role_may


def abilities(request) -> dict[str, bool]:
    """{action value: allowed}, e.g. `can.operate`, `can.delete_site` in a template."""
    membership = current_membership(request)
    return {action.value: membership is not None and role_may(membership.role, action) for action in Action}
