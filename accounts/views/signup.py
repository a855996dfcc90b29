"""Signing up, and confirming the e-mail address by the mailed link."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import signup as service
from accounts.forms import EmailForm, SignUpForm

RESENT = ("If that address belongs to an account waiting for confirmation, we sent it a new link. "
          "It can take a minute to arrive; look in your spam folder too.")


def _portal_url(request) -> str:
    return request.build_absolute_uri("/")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("sites:list")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            data = form.cleaned_data
            user = service.sign_up(data["email"], data["password"], data["organization"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if service.send_confirmation(user, _portal_url(request)):
                messages.success(request, f"Almost done: we sent a link to {user.email}. "
                                          "Open it to confirm your address, then log in here.")
            else:
                messages.warning(request, "Your account is ready, but the confirmation mail could not be sent "
                                          "just now: ask for a new link in a few minutes.")
            return redirect("accounts:login")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def confirm_email(request, token: str):
    try:
        service.confirm_email(token)
    except ValidationError as exc:
        return render(request, "accounts/confirm_failed.html", {"error": exc.messages[0], "form": EmailForm()},
                      status=400)
    messages.success(request, "Your e-mail address is confirmed: log in to start.")
    return redirect("accounts:login")


@never_cache
@require_http_methods(["GET", "POST"])
def resend_confirmation(request):
    form = EmailForm(request.POST if request.method == "POST" else None, initial={"email": request.GET.get("email", "")})
    if form.is_valid():
        service.resend_confirmation(form.cleaned_data["email"], _portal_url(request))
        messages.success(request, RESENT)
        return redirect("accounts:login")
    return render(request, "accounts/resend_confirmation.html", {"form": form})
