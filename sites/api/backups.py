"""Backups of a site's /data and databases: list (everyone who reads the site), take, download
and restore (the organization's owners and admins). A backup downloads in parts, each what its
tool reads back: /data as a tarball (download/) and each database as a gzipped SQL dump
(download/<engine>/, for psql or mariadb)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.roles import Action
from sites import data_backups
from sites.api.base import SiteView, django_errors
from sites.backup_download import download
from sites.models import SiteBackup


class BackupPartSerializer(serializers.Serializer):
    engine = serializers.CharField(read_only=True, help_text="postgresql or mariadb")
    size_bytes = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True)


class SiteBackupSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: their choices' names would clash with the deployments' enums.
    kind = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    databases = BackupPartSerializer(many=True, read_only=True, help_text="A dump of each database it holds.")

    class Meta:
        model = SiteBackup
        fields = ["id", "kind", "state", "size_bytes", "sha256", "databases", "error", "created_at", "finished_at"]


class BackupList(SiteView):
    @extend_schema(responses=SiteBackupSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(SiteBackupSerializer(site.backups.all()[:100], many=True).data)

    @extend_schema(request=None, responses={202: SiteBackupSerializer})
    @django_errors
    def post(self, request, name: str):
        """Take a backup of the site's /data and of its databases now."""
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


class BackupDatabaseDownload(BackupDetail):
    @extend_schema(operation_id="sites_backups_database_download",
                   responses={(200, "application/gzip"): OpenApiResponse(description="The database's SQL dump.")})
    def get(self, request, name: str, backup_id: int, engine: str):
        backup = self.backup(name, backup_id, Action.MANAGE_BACKUPS)
        held = data_backups.part(backup, engine)
        path = data_backups.dump_file(backup, held["engine"]) if held else None
        if backup.state != SiteBackup.State.SUCCEEDED or path is None or not path.is_file():
            raise Http404("This backup holds no dump of that database.")
        filename = f"{backup.site.name}-{held['engine']}-{backup.created_at:%Y%m%d-%H%M%S}.sql.gz"
        return FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type="application/gzip")


class BackupRestore(BackupDetail):
    @extend_schema(request=None, responses={202: SiteBackupSerializer})
    @django_errors
    def post(self, request, name: str, backup_id: int):
        """Replace the site's databases and /data with this backup's content, then restart the site."""
        backup = data_backups.restore(self.backup(name, backup_id, Action.MANAGE_BACKUPS), by=request.user)
        return Response(SiteBackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)
