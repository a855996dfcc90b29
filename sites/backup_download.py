"""A backup's tarball as a download: one answer for the API and the portal (both find the backup
through SiteMember.backup, which asked the role matrix for MANAGE_BACKUPS)."""
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
