"""Backups of a site's /data: list (everyone who reads the site), take, download and restore
(the organization's owners and admins)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.roles import Action
from sites import data_backups
from sites.api.base import SiteView, django_errors
from sites.backup_download import download
from sites.models import SiteBackup


class SiteBackupSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: their choices' names would clash with the deployments' enums.
    kind = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = SiteBackup
        fields = ["id", "kind", "state", "size_bytes", "sha256", "error", "created_at", "finished_at"]


class BackupList(SiteView):
    @extend_schema(responses=SiteBackupSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(SiteBackupSerializer(site.backups.all()[:100], many=True).data)

    @extend_schema(request=None, responses={202: SiteBackupSerializer})
    @django_errors
    def post(self, request, name: str):
        """Take a backup of the site's /data now."""
        site = self.member.site(name, Action.MANAGE_BACKUPS)
        backup = data_backups.take(site, by=request.user)
        return Response(SiteBackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)


class BackupDetail(SiteView):
    def backup(self, name: str, backup_id: int, action: Action) -> SiteBackup:
        return self.member.backup(name, backup_id, action)


class BackupDownload(BackupDetail):
    @extend_schema(responses={(200, "application/gzip"): OpenApiResponse(description="The tarball of /data.")})
    def get(self, request, name: str, backup_id: int):
        return download(self.backup(name, backup_id, Action.MANAGE_BACKUPS))


class BackupRestore(BackupDetail):
    @extend_schema(request=None, responses={202: SiteBackupSerializer})
    @django_errors
    def post(self, request, name: str, backup_id: int):
        """Replace the site's /data with this backup's content, then restart the site."""
        backup = data_backups.restore(self.backup(name, backup_id, Action.MANAGE_BACKUPS), by=request.user)
        return Response(SiteBackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)
