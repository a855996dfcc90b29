"""The portal's account forms: their fields and browser hints only; the rules live in the services."""
from __future__ import annotations

import hashlib
import unicodedata

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.cache import cache

RESET_MAIL_INTERVAL_SECONDS = 60


class _Form(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")  # labels read "E-mail", not "E-mail:"
        super().__init__(*args, **kwargs)

    def full_clean(self) -> None:
        super().full_clean()
        # A field's errors are read out with it (accounts/_field.html gives them this id).
        for name in self.errors:
            if name in self.fields:
                described = [f"{self[name].auto_id}_helptext"] if self.fields[name].help_text else []
                self.fields[name].widget.attrs["aria-describedby"] = " ".join([*described, f"{self[name].auto_id}_error"])


class SignUpForm(_Form):
    # Text here, checked by accounts.signup with the other fields: every mistake is shown at once.
    email = forms.CharField(label="E-mail", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none"}))
    password = forms.CharField(label="Password", strip=False,
                               help_text="At least 8 characters; not a common password, not only digits.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    organization = forms.CharField(label="Organization name", max_length=100,
                                   help_text="Your company or project; its short name appears in addresses.",
                                   widget=forms.TextInput(attrs={"autocomplete": "organization"}))


class LoginForm(_Form):
    # Text, not e-mail: the operator's staff login is a username.
    email = forms.CharField(label="E-mail", max_length=254, widget=forms.TextInput(
        attrs={"autocomplete": "username", "inputmode": "email", "autocapitalize": "none", "autofocus": True}))
    password = forms.CharField(label="Password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class CodeForm(_Form):
    code = forms.CharField(label="Code", max_length=20, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))


class ManageTwoFactorForm(_Form):
    # A recovery code is accepted here too, so the keyboard is not limited to digits.
    code = forms.CharField(label="Code", max_length=40, help_text="The current code from your app, or a recovery code.",
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}))


class RecoveryCodeForm(_Form):
    code = forms.CharField(label="Recovery code", max_length=40, widget=forms.TextInput(
        attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false", "autofocus": True}))


class EmailForm(_Form):
    email = forms.EmailField(label="E-mail", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none"}))


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, sending at most one reset mail a minute to an address: a stranger cannot fill
    someone's mailbox by asking again and again (the page answers the same either way). Users
    without a password yet (made by an operator's command, or invited) may set one this way too:
    the link proves they read the address."""

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        # The same address once Unicode is normalized, not one that merely matches case-insensitively
        # in the database (Django's own guard against look-alike addresses).
        return (user for user in users if _same_address(email, user.email))

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None) -> None:
        key = "password-reset:" + hashlib.sha256(to_email.lower().encode()).hexdigest()[:32]
        if cache.add(key, 1, timeout=RESET_MAIL_INTERVAL_SECONDS):
            super().send_mail(subject_template_name, email_template_name, context, from_email, to_email,
                              html_email_template_name)


def _same_address(typed: str, stored: str) -> bool:
    return unicodedata.normalize("NFKC", typed).casefold() == unicodedata.normalize("NFKC", stored).casefold()
