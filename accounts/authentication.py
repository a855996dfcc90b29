"""`Authorization: Bearer <token>` for the REST API."""
from __future__ import annotations

from rest_framework import authentication, exceptions

from accounts.services import token_for
from accounts.throttling import TooManyFailures, record_auth_failure


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        keyword, _, token = header.partition(" ")
        api_token = token_for(token.strip()) if keyword == self.keyword else None
        if api_token is None:
            # Any credentials that do not authenticate count, whatever their scheme.
            try:
                record_auth_failure(request)
            except TooManyFailures as exc:
                raise exceptions.Throttled(wait=exc.wait, detail=str(exc)) from None
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        # request.auth is the token itself: throttles count per token, the token API knows it.
        return (api_token.user, api_token)

    def authenticate_header(self, request) -> str:
        return self.keyword


try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class BearerTokenScheme(OpenApiAuthenticationExtension):
        target_class = "accounts.authentication.BearerTokenAuthentication"
        name = "bearerAuth"

        def get_security_definition(self, auto_schema):
            return {"type": "http", "scheme": "bearer", "description": "An API token from `manage.py create_token`."}
except ImportError:  # pragma: no cover
    pass
