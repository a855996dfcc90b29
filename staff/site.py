"""The staff admin site: Django's admin, behind the portal's login (lockout, second factor) and
only for staff who use two-factor authentication."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts import signin, two_factor
from staff import dashboard

TWO_FACTOR_REQUIRED = "Staff must use two-factor authentication: set it up here, then open the staff site again."


def is_staff_with_two_factor(user) -> bool:
    """Only such users see the staff site. A user with two-factor can only have logged in with
    their second factor (accounts.signin), so the session has proven it."""
    return bool(user.is_active and user.is_staff and two_factor.is_enabled(user))


class StaffAdminSite(admin.AdminSite):
    site_header = "Hosting platform staff"
    site_title = "Hosting staff"
    index_title = "Dashboard"
    # Not admin/index.html: Django's own admin app is found first under that name.
    index_template = "admin/fleet_index.html"

    def has_permission(self, request) -> bool:
        return is_staff_with_two_factor(request.user)

    def login(self, request, extra_context=None):
        """One login for everybody: the portal's, with its lockout and second step. Staff without
        two-factor are sent to set it up; other users are refused."""
        user = request.user
        next_url = signin.safe_next(request, request.GET.get("next")) or reverse("admin:index")
        if not user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")
        if user.is_active and user.is_staff:
            if not two_factor.is_enabled(user):
                messages.warning(request, TWO_FACTOR_REQUIRED)
                return redirect("accounts:two-factor")
            return redirect(next_url)
        raise PermissionDenied("This is the hosting company's staff site.")

    def index(self, request, extra_context=None):
        return super().index(request, {**dashboard.context(request), **(extra_context or {})})
