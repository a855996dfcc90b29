"""The control plane's internal channel for hosts' agents (/internal/v1/): slugs, build sources and
site backups.

No shared filesystem between hosts: a host that runs a release fetches its slug here, a build host
uploads the slug it built and fetches its source archive, the host of a site sends the parts of a
backup it takes (only while taking it) and fetches them to restore (only while it runs the site). Every request shows the host's agent
token (`Authorization: Bearer <token>`, `X-Host-Name: <name>`): 401 without a valid one, 403 when
the host may not have what it asks for. Names come from strict patterns, never paths from URLs.
"""
from __future__ import annotations

from collections.abc import Iterator

from django.urls import path
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from hosting import slug_cache
from hosting.host_tokens import authenticate
from hosting.models import Host
from sites import data_backups
from sites.models import Deployment, SiteBackup
from sites.pipeline import archives
from sites.pipeline.release import slug_tarball_path

def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _host(request: HttpRequest) -> Host | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer":
        return None
    return authenticate(request.headers.get("X-Host-Name", ""), token.strip())


class BodyTooLong(ValueError):
    pass


class BodyTooShort(ValueError):
    pass


def _body(request: HttpRequest, size: int) -> Iterator[bytes]:
    """The request body in chunks, exactly `size` bytes: one byte over (never more is read) raises
    BodyTooLong, fewer BodyTooShort."""
    received = 0
    while chunk := request.read(min(slug_cache.CHUNK, size + 1 - received)):
        received += len(chunk)
        if received > size:
            raise BodyTooLong()
        yield chunk
    if received != size:
        raise BodyTooShort()


def _upload_limit(host: Host) -> int | None:
    """A host uploads only while it builds: bounded as the build's own slug (build.py store_slug)."""
    building = (Deployment.objects.select_related("site__plan")
                .filter(host_name=host.name, state=Deployment.State.BUILDING))
    limits = [2 * deployment.site.plan.build_disk_mb * 2**20 for deployment in building]
    return max(limits) if limits else None


@csrf_exempt
@require_http_methods(["GET", "PUT"])
def slug(request: HttpRequest, sha256: str) -> HttpResponse:
    host = _host(request)
    if host is None:
        return _error(401, "A host token is required.")
    if not slug_cache.SHA256.fullmatch(sha256):
        return _error(404, "No such slug.")
    if request.method == "PUT":
        return _receive_slug(request, host, sha256)
    path = slug_tarball_path(sha256)
    if not path.is_file():
        return _error(404, "No such slug.")
    return FileResponse(path.open("rb"), content_type="application/gzip")


def _receive_slug(request: HttpRequest, host: Host, sha256: str) -> HttpResponse:
    limit = _upload_limit(host)
    if limit is None:
        return _error(403, "This host has no build running.")
    return _receive(request, slug_tarball_path(sha256), sha256, limit, "slug")


def _receive(request: HttpRequest, target, sha256: str, limit: int, what: str) -> HttpResponse:
    """Keep the body at `target` when it is at most `limit` bytes and its sha256 is `sha256`."""
    try:
        size = int(request.headers.get("Content-Length", ""))
    except ValueError:
        return _error(411, "Content-Length is required.")
    if size > limit:
        return _error(413, f"The {what} is larger than its limit ({limit} bytes).")
    try:
        kept = slug_cache.store_verified(_body(request, size), target, sha256)
    except BodyTooLong:
        return _error(400, "The body is longer than its Content-Length.")
    except BodyTooShort:
        kept = False
    if not kept:
        return _error(400, "The body's sha256 is not the one announced; nothing was kept.")
    return JsonResponse({"sha256": sha256, "size": size}, status=201)


@require_http_methods(["GET"])
def build_source(request: HttpRequest, deployment_id: int) -> HttpResponse:
    host = _host(request)
    if host is None:
        return _error(401, "A host token is required.")
    deployment = Deployment.objects.filter(pk=deployment_id).only("host_name").first()
    if deployment is None:
        return _error(404, "No such build.")
    if deployment.host_name != host.name:
        return _error(403, "This build is placed on another host.")
    archive = archives.find(deployment_id)
    if archive is None:
        return _error(404, "This build's source is gone.")
    return FileResponse(archive.open("rb"), content_type="application/octet-stream")


@csrf_exempt
@require_http_methods(["GET", "PUT"])
def backup_part(request: HttpRequest, backup_id: int, part: str) -> HttpResponse:
    """A part of a site's backup (`data`, or a database engine's dump): sent by the host taking it,
    fetched by the host running the site to restore it."""
    host = _host(request)
    if host is None:
        return _error(401, "A host token is required.")
    backup = SiteBackup.objects.select_related("site__plan", "site__current_instance__host").filter(
        pk=backup_id).first()
    if backup is None or part not in data_backups.PARTS:
        return _error(404, "No such backup.")
    target = data_backups.part_path(backup, part)
    if request.method == "PUT":
        if backup.host_name != host.name or backup.state != SiteBackup.State.RUNNING:
            return _error(403, "This host is not taking this backup.")
        sha256 = request.headers.get("X-Content-Sha256", "")
        if not slug_cache.SHA256.fullmatch(sha256):
            return _error(400, "X-Content-Sha256 is required.")
        return _receive(request, target, sha256, backup.site.plan.backup_mb * 2**20, "backup part")
    instance = backup.site.current_instance
    if instance is None or instance.host.name != host.name:
        return _error(403, "This backup's site runs on another host.")
    if backup.state != SiteBackup.State.SUCCEEDED or not target.is_file():
        return _error(404, "No such backup.")
    return FileResponse(target.open("rb"), content_type="application/gzip")


internal_urlpatterns = [
    path("slugs/<str:sha256>", slug, name="internal-slug"),
    path("builds/<int:deployment_id>/source", build_source, name="internal-build-source"),
    path("backups/<int:backup_id>/<str:part>", backup_part, name="internal-backup-part"),
]
