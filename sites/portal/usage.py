"""The Usage page: the plan's limits and what the current organization uses of them."""
from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from accounts.portal import current_membership
from accounts.roles import Action
from sites import metrics, usage as usage_service
from sites.portal.base import member_view


@member_view(GET=Action.READ)
def usage(request):
    membership = current_membership(request)
    if membership is None:
        return render(request, "accounts/no_organization.html", status=403)
    report = usage_service.organization_usage(request.member.sites(), membership.organization,
                                               disk_of=metrics.disk_bytes_of)
    return render(request, "sites/usage.html", {"usage": report, "nav": "usage"})


urlpatterns = [
    path("usage/", usage, name="usage"),
]
