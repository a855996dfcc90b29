"""Logging in: the password, then the second factor when the user has one, under the lockout.

A user with two-factor is only half signed in after the password: the session remembers who (for
a few minutes) but is not logged in, so every page still sends it to log in; only the second step
calls Django's `login`. Both steps count their failures in accounts.lockout.
"""
from __future__ import annotations

import time

from django.contrib import auth
from django.contrib.auth import get_user_model
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import lockout, two_factor
from accounts.models import Profile
from accounts.throttling import client_address

PENDING_KEY = "signin_pending_second_factor"
PENDING_SECONDS = 300
WRONG_PASSWORD = "That e-mail address and password do not match an account. Check them and try again."
UNCONFIRMED = "Confirm your e-mail address first: open the link we sent you when you signed up."
SECOND_STEP_EXPIRED = "Your login took too long: enter your e-mail address and password again."


class SignInRefused(Exception):
    """The message says why, without telling whether the account exists."""


class EmailNotConfirmed(SignInRefused):
    pass


def sign_in(request, email: str, password: str, next_url: str) -> bool:
    """Check the e-mail address and password, then log the user in (True) or, when they use
    two-factor, remember them for the second step (False). SignInRefused (EmailNotConfirmed) when
    the password is wrong, the pair or address is locked out, or the address is not confirmed."""
    account = email.strip().lower()
    user = _check_password(request, account, password)
    if two_factor.is_enabled(user):
        request.session[PENDING_KEY] = {"user": user.pk, "account": account, "hash": user.get_session_auth_hash(),
                                        "since": time.time(), "backend": user.backend, "next": next_url}
        return False
    _complete(request, user, account, user.backend)
    return True


def _check_password(request, account: str, password: str):
    address = client_address(request)
    try:
        # Before the password is checked: a locked pair learns nothing, not even a right guess.
        lockout.ensure_not_locked(account, address)
        user = auth.authenticate(request, username=_username_for(account), password=password)
        if user is None:
            lockout.record_failure(account, address)
            raise SignInRefused(WRONG_PASSWORD)
    except lockout.LockedOut as exc:
        raise SignInRefused(str(exc)) from None
    if not _may_log_in(user):
        raise EmailNotConfirmed(UNCONFIRMED)
    return user


def pending_user(request):
    """The half-signed-in user of this session (password given, code still due), or None."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > PENDING_SECONDS:
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    # A password changed since the first step ends it.
    if user is None or not constant_time_compare(user.get_session_auth_hash(), pending["hash"]):
        return None
    return user


def check_second_factor(request, code: str) -> str:
    """Finish a half-signed-in login with a TOTP or recovery code; return where to go next.
    SignInRefused when the code is wrong, the pair is locked or the first step expired."""
    user = pending_user(request)
    if user is None:
        request.session.pop(PENDING_KEY, None)
        raise SignInRefused(SECOND_STEP_EXPIRED)
    pending = request.session[PENDING_KEY]
    address = client_address(request)
    try:
        lockout.ensure_not_locked(pending["account"], address)
        if not two_factor.verify(user, code):
            lockout.record_failure(pending["account"], address)
            raise SignInRefused(two_factor.BAD_CODE)
    except lockout.LockedOut as exc:
        request.session.pop(PENDING_KEY, None)
        raise SignInRefused(str(exc)) from None
    del request.session[PENDING_KEY]
    _complete(request, user, pending["account"], pending["backend"])
    return pending["next"]


def safe_next(request, candidate: str | None) -> str:
    """`candidate` when it is a path of ours, else the empty string (a login never sends
    anyone to another site)."""
    if candidate and candidate.startswith("/") and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts=set(), require_https=request.is_secure()):
        return candidate
    return ""


def _complete(request, user, account: str, backend: str) -> None:
    lockout.record_success(account, client_address(request))
    auth.login(request, user, backend=backend)


def _username_for(account: str) -> str:
    """Users log in with their e-mail address; the username of the user with that address (an
    operator's staff user may have another), else the address itself."""
    user = get_user_model().objects.filter(email__iexact=account).order_by("pk").first()
    return user.get_username() if user else account


def _may_log_in(user) -> bool:
    profile = Profile.objects.for_member(user).first()
    return profile is None or profile.may_log_in
