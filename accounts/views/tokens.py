"""API tokens: the signed-in user's own (tokens are personal: no organization or role needed)."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.services import MAX_TOKEN_DAYS, issue_token, revoke_token, tokens_of
from core.portal import attempt, back, failed


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True, error_messages={"required": "Name the token (where it is used)."})
    expires_days = forms.IntegerField(required=False, min_value=1, max_value=MAX_TOKEN_DAYS)


@never_cache  # the page right after creating shows the token: no copy of it may stay in a cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    form, created = TokenForm(), None
    if request.method == "POST":
        form = TokenForm(request.POST)
        issued = attempt(request, issue_token, request.user, form.cleaned_data["name"],
                         form.cleaned_data["expires_days"]) if form.is_valid() else None
        if issued is not None and not failed(issued):
            form, created = TokenForm(), issued
            messages.success(request, "Token created. Copy it now: it is not shown again.")
    context = {"nav": "tokens", "tokens": tokens_of(request.user), "form": form, "created": created,
               "now": timezone.now(), "git_remote": request.build_absolute_uri("/git/")}
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request, prefix: str):
    revoked = revoke_token(request.user, prefix)
    if revoked is None:
        raise Http404("You have no active token starting with that prefix.")
    messages.success(request, f"Token {revoked.prefix}… ({revoked.name or 'unnamed'}) was revoked.")
    return back(request, "accounts:tokens")
