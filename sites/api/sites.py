"""Sites: list, create, show, change, delete; and the process actions (restart, stop, start)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.roles import Action
from sites import services
from sites.api.base import SiteView, accepted, django_errors
from sites.api.serializers import DeploymentSerializer, SiteCreateSerializer, SiteSerializer, SiteUpdateSerializer


class SiteList(SiteView):
    @extend_schema(responses=SiteSerializer(many=True))
    def get(self, request):
        return Response(SiteSerializer(self.member.sites(), many=True).data)

    @extend_schema(request=SiteCreateSerializer, responses={201: SiteSerializer})
    @django_errors
    def post(self, request):
        data = SiteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.member.organization_for_new_site(data.validated_data.get("organization"))
        site = services.create_site(org, data.validated_data["name"], data.validated_data["runtime"],
                                    data.validated_data["writable_paths"])
        return Response(SiteSerializer(site).data, status=status.HTTP_201_CREATED)


class SiteDetail(SiteView):
    @extend_schema(responses=SiteSerializer)
    def get(self, request, name: str):
        return Response(SiteSerializer(self.member.site(name)).data)

    @extend_schema(request=SiteUpdateSerializer, responses=SiteSerializer)
    @django_errors
    def patch(self, request, name: str):
        site = self.member.site(name)
        data = SiteUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        for action in services.actions_to_update(data.validated_data):
            self.member.authorize_site(site, action)
        if "health_check_path" in data.validated_data:  # the site's app config, as writable paths are
            self.member.authorize_site(site, Action.CONFIGURE)
            services.set_health_check_path(site, data.validated_data.pop("health_check_path"))
        return Response(SiteSerializer(services.update_site(site, **data.validated_data)).data)

    @extend_schema(responses={204: None})
    @django_errors
    def delete(self, request, name: str):
        services.delete_site(self.member.site(name, Action.DELETE_SITE))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SiteAction(SiteView):
    action = ""

    @extend_schema(request=None, responses={202: DeploymentSerializer})
    @django_errors
    def post(self, request, name: str):
        site = self.member.site(name, Action.OPERATE)
        if self.action == "stop":
            services.stop(site, by=request.user)
            return Response({"status": "stopping"}, status=status.HTTP_202_ACCEPTED)
        return accepted({"restart": services.restart, "start": services.start}[self.action](site, by=request.user))
