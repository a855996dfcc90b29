"""The portal's account pages (namespace `accounts`)."""
from django.urls import path

from accounts.views import session
from accounts.views.stubs import placeholder

app_name = "accounts"

urlpatterns = [
    path("signup/", placeholder("Sign up", signed_in=False), name="signup"),
    path("signup/confirm/<str:token>/", placeholder("Confirm", signed_in=False), name="confirm-email"),
    path("signup/resend/", placeholder("Resend", signed_in=False), name="resend-confirmation"),
    path("login/", session.login, name="login"),
    path("login/two-factor/", placeholder("Two-factor", signed_in=False), name="login-2fa"),
    path("logout/", session.logout, name="logout"),
    path("password-reset/", placeholder("Reset", signed_in=False), name="password-reset"),
    path("password-reset/sent/", placeholder("Reset sent", signed_in=False), name="password-reset-sent"),
    path("password-reset/<str:uidb64>/<str:token>/", placeholder("Reset", signed_in=False), name="password-reset-confirm"),
    path("password-reset/done/", placeholder("Reset done", signed_in=False), name="password-reset-complete"),
    path("account/", placeholder("Account"), name="account"),
    path("account/two-factor/", placeholder("Two-factor"), name="two-factor"),
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
