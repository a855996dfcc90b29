"""A site's env vars: names only in the list, one value when asked by a role that may reveal it (each
reveal is audited); setting or unsetting one makes a new release."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts.roles import Action
from sites import services
from sites.api.base import SiteView, accepted, django_errors
from sites.api.serializers import DeploymentSerializer, EnvSetSerializer


class EnvVars(SiteView):
    @extend_schema(responses={200: {"type": "object", "additionalProperties": {"type": "string"}}})
    def get(self, request, name: str):
        """The names of the site's env vars; values are never returned."""
        site = self.member.site(name)
        return Response({key: "(set)" for key in site.env_vars.values_list("key", flat=True)})

    @extend_schema(request=EnvSetSerializer, responses={202: DeploymentSerializer})
    @django_errors
    def post(self, request, name: str):
        """Set env vars; the site gets a new release with them."""
        site = self.member.site(name, Action.CONFIGURE)
        data = EnvSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return accepted(services.set_env(site, data.validated_data["vars"], by=request.user))


class EnvVar(SiteView):
    @extend_schema(operation_id="sites_env_value", responses={200: {
        "type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}}})
    @django_errors
    def get(self, request, name: str, key: str):
        """One env var's value, as the portal's Reveal shows it; the reveal is in the audit log."""
        site = self.member.site(name, Action.REVEAL_ENV)
        return Response({"key": key, "value": services.env_value(site, key, by=request.user)})

    @extend_schema(responses={202: DeploymentSerializer})
    @django_errors
    def delete(self, request, name: str, key: str):
        site = self.member.site(name, Action.CONFIGURE)
        return accepted(services.unset_env(site, [key], by=request.user))
