"""Git over smart HTTP: `http://<portal>/git/<site>.git`, any username, an API token as password.

Django authenticates and authorises, then hands the request to `git http-backend` (CGI) and
streams its answer back, so that the build log of the pre-receive hook reaches `git push` line
by line.
"""
from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.roles import Action
from accounts.services import user_for_token
from accounts.throttling import TooManyFailures, record_auth_failure
from sites import git
from sites.models import Site
from sites.services import authorize_site, sites_of_member

SERVICES = {"git-upload-pack", "git-receive-pack"}
PATHS = re.compile(r"^(info/refs|git-upload-pack|git-receive-pack|HEAD)$")
MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def _unauthorized() -> HttpResponse:
    # The same answer for a bad token, an unknown site and someone else's site: nothing leaks.
    response = HttpResponse("Authentication failed.\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Basic realm="hosting git"'
    return response


def _user(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        _, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user_for_token(password)


def _too_many(exc: TooManyFailures) -> HttpResponse:
    response = HttpResponse(f"{exc}\n", status=429, content_type="text/plain")
    response["Retry-After"] = str(exc.wait)
    return response


@csrf_exempt
def git_http(request, name: str, path: str):
    user = _user(request)
    if user is None:
        # git asks without credentials first, to get the challenge: only credentials that fail count.
        if request.META.get("HTTP_AUTHORIZATION"):
            try:
                record_auth_failure(request)
            except TooManyFailures as exc:
                return _too_many(exc)
        return _unauthorized()
    site = sites_of_member(user).filter(name=name).first()
    if site is None:
        return _unauthorized()
    service = request.GET.get("service", "")
    if not PATHS.match(path) or (service and service not in SERVICES):
        return HttpResponse("Not a git path.\n", status=404, content_type="text/plain")
    pushing = path == "git-receive-pack" or service == "git-receive-pack"
    try:
        # The same role matrix and suspension check as the API: a push deploys, a fetch reads.
        authorize_site(user, site, Action.DEPLOY if pushing else Action.READ)
    except Http404:
        return _unauthorized()
    except PermissionDenied as exc:
        return HttpResponse(f"{exc}\n", status=403, content_type="text/plain")
    limit = site.plan.max_push_mb * 2**20
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if pushing and length > limit:
        return HttpResponse(
            f"This push is {length // 2**20} MB; your plan allows {site.plan.max_push_mb} MB.\n",
            status=413, content_type="text/plain",
        )
    return _run_backend(request, site, user, path, limit)


def _backend_env(request, site: Site, user, path: str, push_limit: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "GIT_PROJECT_ROOT": str(settings.GIT_ROOT),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{site.uuid.hex}.git/{path}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": f"service={request.GET['service']}" if request.GET.get("service") in SERVICES else "",
        "CONTENT_TYPE": request.META.get("CONTENT_TYPE", ""),
        "REMOTE_USER": str(user.pk),
        "REMOTE_ADDR": request.META.get("REMOTE_ADDR", ""),
        "HOSTING_SITE_UUID": site.uuid.hex,
        "HOSTING_USER_ID": str(user.pk),
        "HOSTING_PYTHON": sys.executable,
        "HOSTING_MANAGE": str(MANAGE_PY),
        **git.git_config_env({
            "core.hooksPath": str(git.HOOKS_DIR),
            "receive.maxInputSize": str(push_limit),
            "http.receivepack": "true",
            "uploadpack.allowFilter": "true",
        }),
    })
    for header, variable in (("CONTENT_LENGTH", "CONTENT_LENGTH"), ("HTTP_CONTENT_ENCODING", "HTTP_CONTENT_ENCODING"),
                             ("HTTP_GIT_PROTOCOL", "GIT_PROTOCOL")):
        if request.META.get(header):
            env[variable] = request.META[header]
    return env


def _run_backend(request, site: Site, user, path: str, push_limit: int):
    process = subprocess.Popen(
        ["git", "http-backend"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=_backend_env(request, site, user, path, push_limit),
    )

    # Large pushes come chunked, without a Content-Length; Django's request stream then reads
    # nothing, so read the server's (gunicorn's, which undoes the chunking) input directly.
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    source = request.environ["wsgi.input"] if chunked else request

    def feed() -> None:
        try:
            while chunk := source.read(64 * 1024):
                process.stdin.write(chunk)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                process.stdin.close()
            except OSError:
                pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    status, headers = 200, {}
    while True:
        line = process.stdout.readline()
        if not line or line in (b"\r\n", b"\n"):
            break
        key, _, value = line.decode("latin-1").partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[key.strip()] = value.strip()

    def body():
        try:
            while chunk := process.stdout.read1(64 * 1024):
                yield chunk
        finally:
            process.stdout.close()
            process.wait()
            feeder.join(5)

    response = StreamingHttpResponse(body(), status=status, content_type=headers.pop("Content-Type", "text/plain"))
    for key, value in headers.items():
        if key.lower() not in {"content-length", "transfer-encoding"}:
            response[key] = value
    return response
