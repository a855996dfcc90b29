"""The portal's account pages (namespace `accounts`)."""
from django.urls import path

from accounts.views import account, password_reset, session, signup
from accounts.views.stubs import placeholder

app_name = "accounts"

urlpatterns = [
    path("signup/", signup.signup, name="signup"),
    path("signup/confirm/<str:token>/", signup.confirm_email, name="confirm-email"),
    path("signup/resend/", signup.resend_confirmation, name="resend-confirmation"),
    path("login/", session.login, name="login"),
    path("login/two-factor/", session.login_second_step, name="login-2fa"),
    path("logout/", session.logout, name="logout"),
    path("password-reset/", password_reset.request_reset, name="password-reset"),
    path("password-reset/sent/", password_reset.reset_sent, name="password-reset-sent"),
    path("password-reset/<str:uidb64>/<str:token>/", password_reset.confirm_reset, name="password-reset-confirm"),
    path("password-reset/done/", password_reset.reset_complete, name="password-reset-complete"),
    path("account/", account.account, name="account"),
    path("account/two-factor/", account.two_factor_settings, name="two-factor"),
    path("organizations/switch/", session.switch_organization, name="switch-organization"),
    path("team/", placeholder("Team"), name="team"),
    path("team/<int:membership_id>/role/", placeholder("Role"), name="member-role"),
    path("team/<int:membership_id>/remove/", placeholder("Remove"), name="member-remove"),
    path("team/invitations/<int:invitation_id>/revoke/", placeholder("Revoke"), name="invitation-revoke"),
    path("invitations/<str:token>/", placeholder("Invitation", signed_in=False), name="accept-invitation"),
    path("tokens/", placeholder("API tokens"), name="tokens"),
    path("tokens/<str:prefix>/revoke/", placeholder("Revoke"), name="token-revoke"),
    path("audit/", placeholder("Audit log"), name="audit"),
]
