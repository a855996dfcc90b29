"""Site pages: backups of the site's /data and databases. The list (every member), taking one now, downloading
and restoring one (the organization's owners and admins, Action.MANAGE_BACKUPS, as in the API);
each calls the same service and the same download as the API (sites/data_backups.py,
sites/backup_download.py)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path

from accounts.roles import Action
from core.portal import attempt, failed
from sites import data_backups
from sites.backup_download import download, download_dump
from sites.models import Site, SiteBackup
from sites.portal.abilities import abilities
from sites.portal.base import site_view
from sites.portal.pages import render_tab

BACKUPS_SHOWN = 100  # as many as the API lists; expiry keeps a site's far below it


def holds_database_dumps(backup: SiteBackup) -> bool:
    """Whether restoring `backup` replaces the site's databases too (backups taken before a
    database was attached hold no dump of it)."""
    return bool(backup.databases)


@site_view(GET=Action.READ, POST=Action.MANAGE_BACKUPS)
def backups(request, site: Site):
    """The site's backups; POST takes one now."""
    if request.method == "POST":
        if not failed(attempt(request, data_backups.take, site, by=request.user)):
            messages.success(request, "A backup of /data is being taken; it is listed below when it is done.")
        return redirect("sites:backups", site.name)
    listed = list(site.backups.select_related("created_by")[:BACKUPS_SHOWN])
    return render_tab(request, site, "backups", "sites/backups.html", backups=listed,
                      taking=any(backup.state == SiteBackup.State.RUNNING for backup in listed),
                      used_bytes=site.backups.stored_bytes(), keep_days=settings.SITE_BACKUP_KEEP_DAYS,
                      nightly_at=f"{settings.BACKUP_HOUR:02d}:30 UTC",
                      may=abilities(request, site, Action.MANAGE_BACKUPS))


@site_view(GET=Action.MANAGE_BACKUPS)
def backup_download(request, site: Site, backup_id: int):
    return download(request.member.backup(site.name, backup_id, Action.MANAGE_BACKUPS))


@site_view(GET=Action.MANAGE_BACKUPS)
def backup_dump_download(request, site: Site, backup_id: int, engine: str):
    return download_dump(request.member.backup(site.name, backup_id, Action.MANAGE_BACKUPS), engine)


@site_view(GET=Action.MANAGE_BACKUPS, POST=Action.MANAGE_BACKUPS)
def backup_restore(request, site: Site, backup_id: int):
    """GET: what a restore replaces, and the button; POST: restore."""
    backup = request.member.backup(site.name, backup_id, Action.MANAGE_BACKUPS)
    if request.method == "GET":
        return render_tab(request, site, "backups", "sites/backup_restore.html", backup=backup,
                          databases=list(site.databases.all()), replaces_databases=holds_database_dumps(backup))
    if failed(attempt(request, data_backups.restore, backup, by=request.user)):
        return redirect("sites:backup-restore", site.name, backup.pk)
    replaced = "/data and the databases it holds are" if holds_database_dumps(backup) else "/data is"
    messages.success(request, f"Restoring the backup of {backup.created_at:%Y-%m-%d %H:%M} UTC: {replaced} replaced, "
                              "then the site restarts. A restore that fails is in the audit log.")
    return redirect("sites:backups", site.name)


urlpatterns = [
    path('sites/<str:name>/backups/', backups, name='backups'),
    path('sites/<str:name>/backups/<int:backup_id>/download/', backup_download, name='backup-download'),
    path('sites/<str:name>/backups/<int:backup_id>/download/<str:engine>/', backup_dump_download,
         name='backup-dump-download'),
    path('sites/<str:name>/backups/<int:backup_id>/restore/', backup_restore, name='backup-restore'),
]
