"""What the web answers when the database or Redis is down: 503 with a clear message, not a traceback.

Django calls `server_error` (handler500) for any exception no view handled, including those raised
in middleware (sessions, authentication read the database). Errors of a dependency become 503
(problem details under /api/ and /git/, core/problems.py; a plain page elsewhere); anything else
stays a 500 (problem details under /api/ and /git/ too). `not_found` (handler404) answers an
unknown API URL with problem details as well, never the portal's HTML page.

Per use of Redis on the request path, what happens while it is down:
- actions that send a task (deploys, restarts, rollbacks, stops): 503, nothing recorded
  (`core.queue.ensure_queue_reachable` before, a failed deployment row if the send itself fails);
- API request throttles (per token, per address): fail open, the request goes on;
- failed-authentication counting (API tokens, git): fails closed with 503, so nobody can guess
  tokens while the counter is gone;
- deployment log follows and the per-organization stream cap: 503.
The page is rendered without a request context: the context processors would read the database.
"""
from __future__ import annotations

import logging
import sys

import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.views.defaults import page_not_found
from kombu.exceptions import OperationalError as QueueSendError

from core import problems
from core.errors import QueueUnavailable

log = logging.getLogger(__name__)

DATABASE_DOWN = "The control panel is temporarily unavailable; your sites keep serving. Try again in a few minutes."
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, QueueSendError)
INTERNAL_ERROR = "An internal error stopped this request; the platform team has been told."
RETRY_AFTER_SECONDS = 30
API_PATHS = ("/api/", "/git/")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body><h1>Temporarily unavailable</h1><p>{message}</p></body></html>
"""


def dependency_message(exc: BaseException | None) -> str | None:
    """The message for a customer when `exc` means a dependency is down, else None."""
    if isinstance(exc, QueueUnavailable):
        return str(exc)
    if isinstance(exc, REDIS_ERRORS):
        return QueueUnavailable.MESSAGE
    # A refused or lost connection; a bad query (ProgrammingError, IntegrityError) stays a 500.
    if isinstance(exc, (OperationalError, InterfaceError)):
        return DATABASE_DOWN
    return None


def unavailable_response(request, message: str) -> HttpResponse:
    if request.path.startswith(API_PATHS):
        response = problems.response(503, message)
    elif request.path.startswith("/healthz"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(_PAGE.format(message=message), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request) -> HttpResponse:
    message = dependency_message(sys.exc_info()[1])
    if message is None:
        if request.path.startswith(API_PATHS):  # API and git clients read JSON, never an HTML page
            return problems.response(500, INTERNAL_ERROR)
        return HttpResponseServerError("<h1>Server Error (500)</h1>", content_type="text/html")
    log.warning("answered 503: %s", message, extra={"path": request.path})
    return unavailable_response(request, message)


def not_found(request, exception) -> HttpResponse:
    if request.path.startswith(API_PATHS):
        return problems.response(404, f"There is no API endpoint at {request.path}: see /api/v1/schema/ for them all.")
    return page_not_found(request, exception)
