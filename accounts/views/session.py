"""Logging in (password, then the two-factor code when the user has one), out, and switching organization."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import signin
from accounts.forms import CodeForm, LoginForm, RecoveryCodeForm
from accounts.portal import use_organization

logout = auth_views.LogoutView.as_view()


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    next_url = signin.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    form = LoginForm(request.POST if request.method == "POST" else None)
    unconfirmed = False
    if form.is_valid():
        try:
            done = signin.sign_in(request, form.cleaned_data["email"], form.cleaned_data["password"], next_url)
        except signin.SignInRefused as exc:
            form.add_error(None, str(exc))
            unconfirmed = isinstance(exc, signin.EmailNotConfirmed)
        else:
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL)) if done else redirect("accounts:login-2fa")
    return render(request, "accounts/login.html", {"form": form, "next": next_url, "unconfirmed": unconfirmed})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_second_step(request):
    """The second step of a two-factor login: a code from the app, or a recovery code."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    if signin.pending_user(request) is None:
        messages.error(request, signin.SECOND_STEP_EXPIRED)
        return redirect("accounts:login")
    recovery = request.GET.get("with") == "recovery" or "recovery" in request.POST
    form = (RecoveryCodeForm if recovery else CodeForm)(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            next_url = signin.check_second_factor(request, form.cleaned_data["code"])
        except signin.SignInRefused as exc:
            if signin.pending_user(request) is None:  # locked out or expired: back to the start
                messages.error(request, str(exc))
                return redirect("accounts:login")
            form.add_error("code", str(exc))
        else:
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/login_2fa.html", {"form": form, "recovery": recovery})


@login_required
@require_POST
def switch_organization(request):
    membership = use_organization(request, request.POST.get("organization", ""))
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    return redirect("sites:list")
