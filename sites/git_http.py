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

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.roles import Action
from accounts.services import user_for_token
from accounts.throttling import TooManyFailures, record_auth_failure
from sites import git, push_hook, push_reply, streams
from sites.models import Site
from sites.tenancy import SiteMember

SERVICES = {"git-upload-pack", "git-receive-pack"}
BACKEND_EXIT_SECONDS = 10  # for git to notice that its client left, before it is killed
PATHS = re.compile(r"^(info/refs|git-upload-pack|git-receive-pack|HEAD)$")


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
    member = SiteMember(user)
    site = member.find_site(name)
    if site is None:
        # A valid token: say the site is not among the token's sites (naming only those, so nothing
        # of another organization leaks). git prints a 404's text/plain body as "remote: ...".
        return HttpResponse(f"{member.no_such_site(name)}\n", status=404, content_type="text/plain")
    service = request.GET.get("service", "")
    if not PATHS.match(path) or (service and service not in SERVICES):
        return HttpResponse("Not a git path.\n", status=404, content_type="text/plain")
    pushing = path == "git-receive-pack" or service == "git-receive-pack"
    try:
        # The same role matrix and suspension check as the API: a push deploys, a fetch reads.
        member.authorize_site(site, Action.DEPLOY if pushing else Action.READ)
    except Http404:
        return _unauthorized()
    except PermissionDenied as exc:
        return HttpResponse(f"{exc}\n", status=403, content_type="text/plain")
    limit = site.plan.max_push_mb * 2**20
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if pushing and length > limit:
        return _refuse_oversized_push(request, site, length, limit)
    return _run_backend(request, site, user, path, limit)


def _refuse_oversized_push(request, site: Site, length: int, limit: int) -> HttpResponse:
    """A push whose declared length is over the plan's limit (a client with a large
    http.postBuffer). git prints no body of a failed push request, so the refusal is a receive-pack
    answer that rejects each ref and says the plan's limit; that needs the body read to its end
    (the client sends it all before it reads), so only up to twice the limit: past that, a 413."""
    message = push_reply.limit_message(site.plan)
    reply = None
    if length <= 2 * limit and not request.META.get("HTTP_CONTENT_ENCODING"):
        head = request.read(push_reply.COMMANDS_MAX)
        while request.read(push_reply.DRAIN_CHUNK):
            pass
        reply = push_reply.refusal(head, message, f"over the plan's {site.plan.max_push_mb} MB push limit")
    if reply is None:
        return HttpResponse(f"{message}\n", status=413, content_type="text/plain")
    response = HttpResponse(reply, content_type="application/x-git-receive-pack-result")
    response["Cache-Control"] = "no-cache"
    return response


def _cgi_env(request, site: Site, user) -> dict[str, str]:
    """The request as CGI variables for git http-backend, and what the pre-receive hook needs."""
    env = dict(os.environ)
    env.update({
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": f"service={request.GET['service']}" if request.GET.get("service") in SERVICES else "",
        "CONTENT_TYPE": request.META.get("CONTENT_TYPE", ""),
        "REMOTE_USER": str(user.pk),
        "REMOTE_ADDR": request.META.get("REMOTE_ADDR", ""),
        "HOSTING_SITE_UUID": site.uuid.hex,
        "HOSTING_USER_ID": str(user.pk),
        "HOSTING_PYTHON": sys.executable,
        "HOSTING_HOOK_CLIENT": str(push_hook.CLIENT),
    })
    for header, variable in (("CONTENT_LENGTH", "CONTENT_LENGTH"), ("HTTP_CONTENT_ENCODING", "HTTP_CONTENT_ENCODING"),
                             ("HTTP_GIT_PROTOCOL", "GIT_PROTOCOL")):
        if request.META.get(header):
            env[variable] = request.META[header]
    return env


def _run_backend(request, site: Site, user, path: str, push_limit: int):
    # A push waits for its build: it is a stream of the organization, capped and watched.
    try:
        slot = streams.take_slot(site.organization_id) if _is_push(path) else None
    except streams.TooManyStreams as exc:
        return HttpResponse(f"{exc}\n", status=429, content_type="text/plain")
    try:
        return _stream_backend(request, site, user, path, push_limit, slot)
    except BaseException:
        if slot is not None:
            slot.release()
        raise


def _stream_backend(request, site: Site, user, path: str, push_limit: int, slot: streams.StreamSlot | None):
    repository = git.Repository.of(site)
    cgi_env = _cgi_env(request, site, user)
    # A push's pre-receive hook is served by this worker (sites/push_hook.py), over a socket git
    # hands down to the hook.
    hook = push_hook.HookChannel(site.uuid.hex, user) if _is_push(path) else None
    if hook is not None:
        cgi_env["HOSTING_HOOK_FD"] = str(hook.child_fd)
    try:
        process = repository.http_backend(path, cgi_env, push_limit, (hook.child_fd,) if hook is not None else ())
    except BaseException:
        if hook is not None:
            hook.close()
        raise
    if hook is not None:
        hook.start()

    # Large pushes come chunked, without a Content-Length; Django's request stream then reads
    # nothing, so read the server's (gunicorn's, which undoes the chunking) input directly.
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    source = request.environ["wsgi.input"] if chunked else request

    declared = None if chunked else int(request.META.get("CONTENT_LENGTH") or 0)

    def feed() -> None:
        sent = 0
        try:
            while chunk := source.read(64 * 1024):
                process.stdin.write(chunk)
                sent += len(chunk)
        except Exception:  # noqa: BLE001 (the client left: the server's reader says so in its own way)
            pass
        finally:
            try:
                process.stdin.close()
            except OSError:
                pass
            if declared is not None and sent < declared:
                # The client left in the middle of its body. git http-backend reads a declared
                # length to its end and spins at full speed on an input that ends early: stop it.
                git.kill_backend(process)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    output = _BackendOutput(process, feeder, report_quiet=_is_push(path))
    status, headers = output.head()
    if slot is not None:  # a push: git's own line about its size limit becomes the plan's
        output = push_reply.PushReply(output, push_reply.limit_message(site.plan))
    body = output if slot is None else streams.watched(request.META, slot, output)
    response = StreamingHttpResponse(body, status=status, content_type=headers.pop("Content-Type", "text/plain"))
    for key, value in headers.items():
        if key.lower() not in {"content-length", "transfer-encoding"}:
            response[key] = value
    return response


def _is_push(path: str) -> bool:
    return path == "git-receive-pack"


class _BackendOutput:
    """git http-backend's answer: its CGI head, then its body as it comes.

    Read straight from the pipe (poll, then os.read), never through a buffer that poll() could
    not see, so that a push waiting for its build wakes up every STREAM_CHECK_SECONDS and
    yields None: the stream then looks at its client.
    """

    def __init__(self, process: subprocess.Popen, feeder: threading.Thread, report_quiet: bool) -> None:
        self.process = process
        self.feeder = feeder
        self.report_quiet = report_quiet
        self._fd = process.stdout.fileno()
        self._closed = False

    def _read(self, size: int) -> bytes | None:
        """Up to `size` bytes (b"" at the end), or None when nothing came for a while."""
        while True:
            if not streams.readable_now(self._fd, settings.STREAM_CHECK_SECONDS):
                return None
            try:
                return os.read(self._fd, size)
            except BlockingIOError:  # gevent's pipes are non-blocking: nothing after all
                continue

    def head(self) -> tuple[int, dict[str, str]]:
        status, headers, line = 200, {}, b""
        while True:
            byte = self._read(1)
            if byte is None:
                continue  # git is still working out its answer
            line += byte
            if byte and byte != b"\n":
                continue
            if line.strip() == b"":
                return status, headers
            key, _, value = line.decode("latin-1").partition(":")
            line = b""
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers[key.strip()] = value.strip()

    def __iter__(self) -> "_BackendOutput":
        return self

    def __next__(self) -> bytes | None:
        while not self._closed:
            chunk = self._read(64 * 1024)
            if chunk is None and not self.report_quiet:
                continue
            if chunk == b"":
                break
            return chunk
        raise StopIteration

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Closing our end makes git fail its next write: a push whose client left stops there,
        # as it would have when the server wrote to the dead client.
        self.process.stdout.close()
        try:
            self.process.wait(BACKEND_EXIT_SECONDS)
        except subprocess.TimeoutExpired:  # waiting for input that will never come
            git.kill_backend(self.process)
            self.process.wait()
        self.feeder.join(5)
