"""The portal's account pages (namespace `accounts`)."""
from django.urls import path

from accounts.views import audit, session, team, tokens
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
    path("team/", team.team, name="team"),
    path("team/<int:membership_id>/role/", team.member_role, name="member-role"),
    path("team/<int:membership_id>/remove/", team.member_remove, name="member-remove"),
    path("team/leave/", team.leave, name="team-leave"),
    path("team/invitations/<int:invitation_id>/revoke/", team.invitation_revoke, name="invitation-revoke"),
    path("invitations/<str:token>/", team.accept_invitation, name="accept-invitation"),
    path("tokens/", tokens.tokens, name="tokens"),
    path("tokens/<str:prefix>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("audit/", audit.audit, name="audit"),
]
