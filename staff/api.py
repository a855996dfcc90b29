"""The staff's REST API for the CLI's `hosting admin` commands: suspend or unsuspend an organization,
set its plan, list, drain and undrain hosts. The same services as the admin's actions and the
operator commands, the same Django permissions as the admin (support staff may not), and only for
staff with two-factor authentication, as the staff site (their API token is theirs, made after
their second factor or by an operator on the machine)."""
from __future__ import annotations

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from hosting.models import Host
from sites import drain, services
from sites.api.base import django_errors
from sites.plans import change_plan, plan_named
from staff.site import is_staff_with_two_factor

STAFF_ONLY = "This is for the hosting company's staff, with two-factor authentication on."


class StaffView(APIView):
    # Each view names the Django permission its POST needs; GETs need the view permission of its model.
    # (A comment, not a docstring: drf-spectacular would show it on every operation.)
    permission = ""

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if not is_staff_with_two_factor(request.user):
            raise PermissionDenied(STAFF_ONLY)
        if self.permission and not request.user.has_perm(self.permission):
            raise PermissionDenied(f"Your staff role may not do this ({self.permission}).")


def _organization(slug: str) -> Organization:
    organization = Organization.objects.select_related("plan").filter(slug=slug).first()
    if organization is None:
        raise Http404("No such organization.")
    return organization


def _host(name: str) -> Host:
    host = Host.objects.filter(name=name).first()
    if host is None:
        raise Http404("No such host.")
    return host


def _org_answer(organization: Organization) -> Response:
    organization.refresh_from_db()
    return Response({"slug": organization.slug, "plan": organization.plan.name, "suspended": organization.suspended,
                     "suspended_reason": organization.suspended_reason})


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PlanSerializer(serializers.Serializer):
    plan = serializers.CharField(max_length=40)


class Suspend(StaffView):
    permission = "accounts.suspend_organization"

    @extend_schema(request=ReasonSerializer, responses={200: dict})
    @django_errors
    def post(self, request, slug: str, suspended: bool = True):
        organization = _organization(slug)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if suspended:
            services.suspend_organization(organization, data.validated_data["reason"])
        elif organization.suspended:
            services.unsuspend_organization(organization)
        return _org_answer(organization)


class SetPlan(StaffView):
    permission = "accounts.set_organization_plan"

    @extend_schema(request=PlanSerializer, responses={200: dict})
    @django_errors
    def post(self, request, slug: str):
        organization = _organization(slug)
        data = PlanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change_plan(organization, plan_named(data.validated_data["plan"]), by=request.user)
        return _org_answer(organization)


class HostList(StaffView):
    permission = "hosting.view_host"

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response([{"name": host.name, "service_address": host.service_address, "cpus": host.cpus,
                          "memory_mb": host.memory_mb, "last_heartbeat": host.last_heartbeat,
                          "down_since": host.down_since, "cordoned_at": host.cordoned_at,
                          "draining_since": host.draining_since} for host in Host.objects.order_by("name")])


class Drain(StaffView):
    permission = "hosting.change_host"

    @extend_schema(request=ReasonSerializer, responses={200: dict})
    @django_errors
    def post(self, request, name: str, undo: bool = False):
        host = _host(name)
        if undo:
            return Response({"host": host.name, "undrained": drain.undrain(host, by=request.user)})
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = drain.drain(host, by=request.user, reason=data.validated_data["reason"] or "drained from the CLI")
        return Response({"host": host.name, "moving": report.moving, "left": report.left,
                         "under_way": report.under_way})


urlpatterns = [
    path("orgs/<str:slug>/suspend/", Suspend.as_view(), name="api-admin-suspend"),
    path("orgs/<str:slug>/unsuspend/", Suspend.as_view(), {"suspended": False}, name="api-admin-unsuspend"),
    path("orgs/<str:slug>/plan/", SetPlan.as_view(), name="api-admin-plan"),
    path("hosts/", HostList.as_view(), name="api-admin-hosts"),
    path("hosts/<str:name>/drain/", Drain.as_view(), name="api-admin-drain"),
    path("hosts/<str:name>/undrain/", Drain.as_view(), {"undo": True}, name="api-admin-undrain"),
]
