"""The signed-in user's own account: the password, and two-factor authentication."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import two_factor
from accounts.forms import CodeForm, ManageTwoFactorForm
from accounts.throttling import client_address


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def account(request):
    """The e-mail address, a password change, and the two-factor status."""
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None)
    if form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)  # this session stays; the others end
        messages.success(request, "Your password is changed. Other sessions were logged out.")
        return redirect("accounts:account")
    context = {"nav": "account", "form": form, "two_factor_on": two_factor.is_enabled(request.user),
               "recovery_left": two_factor.unused_recovery_codes(request.user)}
    return render(request, "accounts/account.html", context, status=400 if form.errors else 200)


@sensitive_post_parameters("code")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_settings(request):
    """Set up two-factor (secret, QR code, a first code), or turn it off / renew recovery codes."""
    if two_factor.is_enabled(request.user):
        return _manage(request)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            codes = two_factor.enable(request.session, request.user, form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            return _show_recovery_codes(request, codes, "Two-factor authentication is on.")
    context = {"nav": "account", "form": form, **two_factor.enrolment(request.session, request.user)}
    return render(request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200)


def _manage(request):
    form = ManageTwoFactorForm(request.POST if request.method == "POST" else None)
    action = request.POST.get("action")
    if form.is_valid() and action in ("disable", "regenerate"):
        code = form.cleaned_data["code"]
        try:
            if action == "disable":
                two_factor.disable(request.user, code, client_address(request))
            else:
                codes = two_factor.regenerate_recovery_codes(request.user, code, client_address(request))
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            if action == "regenerate":
                return _show_recovery_codes(request, codes, "New recovery codes: the old ones no longer work.")
            messages.success(request, "Two-factor authentication is off.")
            return redirect("accounts:account")
    context = {"nav": "account", "form": form, "recovery_left": two_factor.unused_recovery_codes(request.user)}
    return render(request, "accounts/two_factor_manage.html", context, status=400 if form.errors else 200)


def _show_recovery_codes(request, codes: list[str], heading: str):
    return render(request, "accounts/recovery_codes.html", {"nav": "account", "codes": codes, "heading": heading})
