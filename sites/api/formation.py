"""A site's formation: how many containers of each process type (worker, ...) run beside web."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.roles import Action
from sites import services
from sites.api.base import SiteView, django_errors
from sites.formation import formation_of
from sites.models import Site


class ProcessTypeSerializer(serializers.Serializer):
    type = serializers.CharField(source="name")
    command = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Containers that should run.")
    running = serializers.IntegerField(help_text="Containers that run now.")


class FormationSerializer(serializers.Serializer):
    processes = ProcessTypeSerializer(many=True)
    max_processes = serializers.IntegerField(help_text="The plan's limit of process containers per site besides web.")


def formation_answer(site: Site) -> Response:
    return Response(FormationSerializer({"processes": formation_of(site),
                                         "max_processes": site.plan.max_processes}).data)


class Formation(SiteView):
    @extend_schema(responses=FormationSerializer)
    def get(self, request, name: str):
        """The current release's process types (its Procfile but web and release), how many of
        each should run and how many do."""
        return formation_answer(self.member.site(name))

    @extend_schema(
        request={"application/json": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}},
        responses=FormationSerializer, examples=[OpenApiExample("Two workers", value={"worker": 2})],
    )
    @django_errors
    def patch(self, request, name: str):
        """Scale process types, e.g. `{"worker": 2}`; 0 stops them. Within the plan's
        `max_processes`, and only when the web instance's host has room."""
        site = self.member.site(name, Action.DEPLOY)
        return formation_answer(services.scale(site, request.data, by=request.user))
