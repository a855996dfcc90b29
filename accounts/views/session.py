"""Signing in and out, and switching organization (sign-in is being built: Django's own view for now)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.portal import use_organization

login = auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()


@login_required
@require_POST
def switch_organization(request):
    membership = use_organization(request, request.POST.get("organization", ""))
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    return redirect("sites:list")
