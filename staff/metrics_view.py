"""GET /metrics: the operators' Prometheus endpoint (staff/metrics.py), for a scraper holding
METRICS_TOKEN or a staff member signed in with two-factor. Anyone else gets no data."""
from __future__ import annotations

import hmac

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from staff.metrics import PlatformCollector
from staff.site import is_staff_with_two_factor

BEARER = "bearer "


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    # A registry per scrape with only our collector: no per-process series (they differ per worker).
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the metrics; else 401 (no or a wrong token, nobody signed in)
    or 403 (signed in, but not staff with two-factor)."""
    given = request.headers.get("Authorization", "")
    if given:
        if given[:len(BEARER)].lower() == BEARER and _token_matches(given[len(BEARER):].strip()):
            return None
        return _unauthorized("The bearer token is not the metrics token.")
    try:
        user = request.user
        if is_staff_with_two_factor(user):
            return None
        signed_in = user.is_authenticated
    except DatabaseError:  # the session lives in the database: while it is down, the caller is nobody
        signed_in = False
    if signed_in:
        return HttpResponse("Only the hosting company's staff (with two-factor) read the metrics.\n", status=403,
                            content_type="text/plain")
    return _unauthorized("Send the metrics token as 'Authorization: Bearer <token>'.")


def _token_matches(given: str) -> bool:
    expected = settings.METRICS_TOKEN
    # Constant time: how much of a guess was right must not show in how long the answer took.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
