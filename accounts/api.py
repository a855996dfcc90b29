"""The caller's own API tokens (list them, revoke one) and organizations. Tokens are personal: they
act with their user's roles in each organization, so no organization role is needed to revoke one's own."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts import services
from accounts.models import ApiToken, Membership
from accounts.scope import MemberAPIView


class TokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="The token this request was made with.")

    class Meta:
        model = ApiToken
        fields = ["prefix", "name", "created_at", "last_used_at", "expires_at", "revoked_at", "current"]

    def get_current(self, token: ApiToken) -> bool:
        request = self.context.get("request")
        return bool(request and isinstance(request.auth, ApiToken) and request.auth.pk == token.pk)


class TokenList(MemberAPIView):
    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request):
        """Your tokens (never the tokens themselves: only their first characters)."""
        return Response(TokenSerializer(self.member.tokens(), many=True, context={"request": request}).data)


class TokenDetail(MemberAPIView):
    @extend_schema(responses={204: None})
    def delete(self, request, prefix: str):
        """Revoke one of your tokens; it stops working at once, on the API and for git."""
        if services.revoke_token(self.member.user, prefix) is None:
            raise Http404("You have no such token, or it is already revoked.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="organization.slug")
    name = serializers.CharField(source="organization.name")
    plan = serializers.CharField(source="organization.plan.name")
    suspended = serializers.BooleanField(source="organization.suspended")

    class Meta:
        model = Membership
        fields = ["slug", "name", "role", "plan", "suspended"]


class OrganizationList(MemberAPIView):
    @extend_schema(responses=MembershipSerializer(many=True))
    def get(self, request):
        """The organizations you are a member of, with your role in each."""
        memberships = self.member.memberships().select_related("organization__plan").order_by("organization__slug")
        return Response(MembershipSerializer(memberships, many=True).data)
