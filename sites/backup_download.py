"""A backup's parts as downloads: one answer for the API and the portal (both find the backup
through SiteMember.backup, which asked the role matrix for MANAGE_BACKUPS). /data is a tarball, each
database a gzipped SQL dump: what its own tool reads back."""
from __future__ import annotations

from django.http import FileResponse, Http404

from sites import data_backups
from sites.models import SiteBackup

NO_TARBALL = "This backup has no tarball (it failed, or is being taken)."


def download(backup: SiteBackup) -> FileResponse:
    """The tarball as an attachment named after the site and the time it was taken; a 404 for a
    backup that has none (failed, still running, or its file is gone)."""
    path = data_backups.tarball(backup)
    if backup.state != SiteBackup.State.SUCCEEDED or not path.is_file():
        raise Http404(NO_TARBALL)
    filename = f"{backup.site.name}-data-{backup.created_at:%Y%m%d-%H%M%S}.tar.gz"
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type="application/gzip")


NO_DUMP = "This backup holds no dump of that database."


def download_dump(backup: SiteBackup, engine: str) -> FileResponse:
    """The backup's dump of the site's `engine` database; a 404 when it holds none. `engine` is only
    compared with what the backup recorded, never used in a path before that."""
    held = data_backups.part(backup, engine)
    path = data_backups.dump_file(backup, held["engine"]) if held else None
    if backup.state != SiteBackup.State.SUCCEEDED or path is None or not path.is_file():
        raise Http404(NO_DUMP)
    filename = f"{backup.site.name}-{held['engine']}-{backup.created_at:%Y%m%d-%H%M%S}.sql.gz"
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type="application/gzip")
