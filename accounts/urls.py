"""The portal's account pages (namespace `accounts`)."""
from django.urls import path

from accounts.views import account, audit, password_reset, session, signup, team, tokens

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
