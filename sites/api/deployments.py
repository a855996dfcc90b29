"""Deployments (list, upload an archive, one with its log), releases, and rollback to one."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.roles import Action
from sites import services, uploads
from sites.api.base import SiteView, accepted, django_errors
from sites.api.serializers import (
    ArchiveSerializer,
    DeploymentDetailSerializer,
    DeploymentSerializer,
    ReleaseSerializer,
    RollbackSerializer,
)


class DeploymentList(SiteView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=DeploymentSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(DeploymentSerializer(site.deployments.select_related("release", "created_by")[:100], many=True).data)

    @extend_schema(request={"multipart/form-data": ArchiveSerializer}, responses={202: DeploymentSerializer})
    @django_errors
    def post(self, request, name: str):
        """Deploy an uploaded archive of the app's source."""
        site = self.member.site(name, Action.DEPLOY)
        data = ArchiveSerializer(data=uploads.read_within_plan(request, site.plan.max_push_mb))
        data.is_valid(raise_exception=True)
        return accepted(services.deploy_archive(site, data.validated_data["archive"], by=request.user))


class DeploymentDetail(SiteView):
    @extend_schema(responses=DeploymentDetailSerializer)
    def get(self, request, name: str, deployment_id: int):
        return Response(DeploymentDetailSerializer(self.member.deployment(name, deployment_id)).data)


class ReleaseList(SiteView):
    @extend_schema(responses=ReleaseSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(ReleaseSerializer(site.releases.select_related("slug", "site").prefetch_related("deployments__created_by")[:100], many=True).data)


class Rollback(SiteView):
    @extend_schema(request=RollbackSerializer, responses={202: DeploymentSerializer})
    @django_errors
    def post(self, request, name: str):
        site = self.member.site(name, Action.OPERATE)
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return accepted(services.rollback(site, data.validated_data["release"], by=request.user))
