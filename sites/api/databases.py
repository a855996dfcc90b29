"""A site's managed databases: attach, read, rotate the password, reveal the URL, detach.

Attaching, rotating and detaching each give the site a new release (its DATABASE_URL and PG*
variables change); detaching drops the data, so only those who may delete a site may do it."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.roles import Action
from sites import databases
from sites.api.base import SiteView, accepted, django_errors
from sites.api.serializers import DeploymentSerializer
from sites.database_models import Database


class DatabaseSerializer(serializers.ModelSerializer):
    # Plain strings: a choice field named `state` here and on deployments would collide in the schema.
    state = serializers.CharField(read_only=True, help_text="creating, ready, failed or deleting")
    writes = serializers.CharField(read_only=True, help_text="writable, read_only (over the plan's size) or locked")
    size_mb = serializers.SerializerMethodField()
    limit_mb = serializers.IntegerField(source="site.plan.database_mb", read_only=True)

    class Meta:
        model = Database
        fields = ["engine", "name", "state", "writes", "size_mb", "limit_mb", "size_checked_at", "error", "created_at"]

    def get_size_mb(self, database: Database) -> float:
        return round(database.size_bytes / databases.MB, 1)


class DatabaseCreateSerializer(serializers.Serializer):
    engine = serializers.CharField(max_length=32, help_text="postgresql")


class CredentialsSerializer(serializers.Serializer):
    url = serializers.CharField()
    env = serializers.DictField(child=serializers.CharField())


class DatabaseView(SiteView):
    def database(self, name: str, engine: str, action: Action = Action.READ) -> Database:
        return self.member.database(name, engine, action)


class DatabaseList(DatabaseView):
    @extend_schema(responses=DatabaseSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(DatabaseSerializer(site.databases.select_related("site__plan"), many=True).data)

    @extend_schema(request=DatabaseCreateSerializer, responses={202: DatabaseSerializer})
    @django_errors
    def post(self, request, name: str):
        """Attach a database; the site gets DATABASE_URL in a new release once it is ready."""
        site = self.member.site(name, Action.CONFIGURE)
        data = DatabaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        database = databases.attach(site, data.validated_data["engine"], by=request.user)
        return Response(DatabaseSerializer(database).data, status=status.HTTP_202_ACCEPTED)


class DatabaseDetail(DatabaseView):
    @extend_schema(responses=DatabaseSerializer)
    def get(self, request, name: str, engine: str):
        return Response(DatabaseSerializer(self.database(name, engine)).data)

    @extend_schema(responses={202: DeploymentSerializer})
    @django_errors
    def delete(self, request, name: str, engine: str):
        """Detach the database: its data is dropped, and the site's next release has no DATABASE_URL."""
        return accepted(databases.detach(self.database(name, engine, Action.DELETE_SITE), by=request.user))


class DatabaseRotate(DatabaseView):
    @extend_schema(request=None, responses={202: DatabaseSerializer})
    @django_errors
    def post(self, request, name: str, engine: str):
        """A new password; the site gets a release with it (sessions already open go on)."""
        database = databases.rotate(self.database(name, engine, Action.CONFIGURE), by=request.user)
        return Response(DatabaseSerializer(database).data, status=status.HTTP_202_ACCEPTED)


class DatabaseCredentials(DatabaseView):
    @extend_schema(responses=CredentialsSerializer)
    @django_errors
    def get(self, request, name: str, engine: str):
        """The URL and variables the site's containers get; each reveal is in the audit log."""
        env = databases.reveal(self.database(name, engine, Action.REVEAL_ENV), by=request.user)
        return Response({"url": env["DATABASE_URL"], "env": env})
