"""Password reset by e-mail: Django's own views with our pages and mail.

The request page answers the same whether or not the address has an account (Django mails only
known, active users with a usable password). A reset completed from the mailed link also confirms
the address: the link proves its owner reads that mailbox.
"""
from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from accounts.forms import PasswordResetForm
from accounts.signup import mark_confirmed

request_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset_form.html",
    form_class=PasswordResetForm,
    email_template_name="accounts/email/password_reset.txt",
    subject_template_name="accounts/email/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password-reset-sent"),
)
reset_sent = auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_sent.html")
reset_complete = auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html")


class _ConfirmReset(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        mark_confirmed(form.user)
        return response


confirm_reset = _ConfirmReset.as_view()
