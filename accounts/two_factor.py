"""Two-factor authentication: a TOTP secret (encrypted at rest) and single-use recovery codes.

A code is accepted within one step (30 s) either side of now, and never twice: the last step
accepted is stored, and a conditional UPDATE lets only one of two concurrent logins with the same
code through. Recovery codes are shown once and stored as SHA-256 digests, like API tokens.
"""
from __future__ import annotations

import hashlib
import re
import secrets

import segno
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import lockout, totp
from accounts.models import Profile, RecoveryCode
from core.encryption import decrypt, encrypt

RECOVERY_CODE_COUNT = 10
ISSUER = "Hosting"
PENDING_SECRET_KEY = "two_factor_pending_secret"
BAD_CODE = "That code is not right (or was already used): enter the current 6-digit code from your app."
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def profile_of(user) -> Profile:
    return Profile.objects.get_or_create(user=user)[0]


def is_enabled(user) -> bool:
    return Profile.objects.for_member(user).exclude(totp_secret="").exists()


def pending_secret(session) -> str:
    """The secret being set up in this session (made on first sight): it is saved only once a
    first code proves the app has it."""
    secret = session.get(PENDING_SECRET_KEY)
    if not secret:
        secret = session[PENDING_SECRET_KEY] = totp.new_secret()
    return secret


def enrolment(session, user) -> dict:
    """What the set-up page shows: the secret as text and as an inline SVG QR code."""
    secret = pending_secret(session)
    uri = totp.provisioning_uri(secret, user.email or user.username, ISSUER)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title="QR code of your two-factor secret", dark="#000")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return {"secret": secret, "secret_grouped": grouped, "qr_svg": qr}


@transaction.atomic
def enable(session, user, code: str) -> list[str]:
    """Turn two-factor on with the session's pending secret once `code` matches it; return the
    recovery codes (shown once)."""
    secret = session.get(PENDING_SECRET_KEY)
    if not secret:
        raise ValidationError("The set-up expired: scan the new code and try again.")
    step = totp.matching_step(secret, _digits(code), totp.current_step())
    if step is None:
        raise ValidationError(BAD_CODE)
    profile = profile_of(user)
    profile.totp_secret = encrypt(secret)
    profile.totp_enabled_at = timezone.now()
    profile.totp_last_step = step  # the code that proved it is used up
    profile.save(update_fields=["totp_secret", "totp_enabled_at", "totp_last_step"])
    del session[PENDING_SECRET_KEY]
    return _new_recovery_codes(user)


def verify(user, code: str) -> bool:
    """True when `code` is a current TOTP code not used before, or an unused recovery code (which
    is then used up)."""
    digits = _digits(code)
    if re.fullmatch(r"[0-9]{6}", digits):
        return _verify_totp(user, digits)
    return _use_recovery_code(user, code)


@transaction.atomic
def disable(user, code: str, address: str) -> None:
    _require_code(user, code, address)
    turn_off(user)


def turn_off(user) -> None:
    """Two-factor off, recovery codes gone: the user's own choice (`disable`), or staff's for a
    customer who lost both their app and their codes."""
    Profile.objects.for_member(user).update(totp_secret="", totp_enabled_at=None)
    RecoveryCode.objects.for_member(user).delete()


@transaction.atomic
def regenerate_recovery_codes(user, code: str, address: str) -> list[str]:
    """New recovery codes for old ones, with a current code: the old ones stop working."""
    _require_code(user, code, address)
    return _new_recovery_codes(user)


def _require_code(user, code: str, address: str) -> None:
    """A code for a change to two-factor itself. Wrong ones count in the login lockout, so a
    borrowed session cannot guess its way to turning two-factor off."""
    account = (user.email or user.get_username()).lower()
    try:
        lockout.ensure_not_locked(account, address)
        if not verify(user, code):
            lockout.record_failure(account, address)
            raise ValidationError(BAD_CODE)
    except lockout.LockedOut as exc:
        raise ValidationError(str(exc)) from None


def unused_recovery_codes(user) -> int:
    return RecoveryCode.objects.for_member(user).filter(used_at__isnull=True).count()


def _verify_totp(user, digits: str) -> bool:
    profile = Profile.objects.for_member(user).exclude(totp_secret="").first()
    if profile is None:
        return False
    step = totp.matching_step(decrypt(profile.totp_secret), digits, totp.current_step())
    if step is None:
        return False
    # Conditional: of two logins racing with one code, one moves the step on; a code of an
    # older or the same step never passes again.
    return bool(Profile.objects.filter(pk=profile.pk, totp_last_step__lt=step).update(totp_last_step=step))


def _use_recovery_code(user, code: str) -> bool:
    digest = _recovery_digest(code)
    if not digest:
        return False
    found = RecoveryCode.objects.for_member(user).filter(digest=digest, used_at__isnull=True).first()
    if found is None:
        return False
    # Conditional: a code used by a concurrent login is not used twice.
    return bool(RecoveryCode.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=timezone.now()))


def _new_recovery_codes(user) -> list[str]:
    RecoveryCode.objects.for_member(user).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))  # about 79 bits
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=_recovery_digest(code)) for code in codes)
    return codes


def _digits(code: str) -> str:
    return re.sub(r"\s", "", code or "")


def _recovery_digest(code: str) -> str:
    normalized = re.sub(r"[^a-z0-9]", "", (code or "").lower())
    if len(normalized) != 16:
        return ""
    return hashlib.sha256(normalized.encode()).hexdigest()
