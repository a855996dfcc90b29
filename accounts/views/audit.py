"""The organization's audit log: who did what, to which site, when and from where."""
from __future__ import annotations

from django.shortcuts import render

from accounts.audit_log import page_of_events
from accounts.portal import organization_view
from accounts.roles import Action


@organization_view(GET=Action.READ_AUDIT)
def audit(request):
    page = page_of_events(request.membership.organization, site=request.GET.get("site", ""),
                          page=request.GET.get("page", 1))
    return render(request, "accounts/audit.html", {"nav": "audit", "log": page})
