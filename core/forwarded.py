"""Believe X-Forwarded-Proto only from the edge.

gunicorn listens on a loopback address that any local process can reach, and it believes
X-Forwarded-Proto from any loopback peer. A request is taken to have come over HTTPS only when
it carries the edge's secret (settings.EDGE_PROXY_SECRET, which the edge's config sends as
X-Hosting-Edge); anything else is plain HTTP, whatever its headers say.
"""
from __future__ import annotations

import hmac

from django.conf import settings

EDGE_HEADER = "HTTP_X_HOSTING_EDGE"
FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PROTOCOL", "HTTP_X_FORWARDED_SSL", "HTTP_FORWARDED")


class TrustEdgeOnly:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        from_edge = hmac.compare_digest(meta.pop(EDGE_HEADER, "").encode(), settings.EDGE_PROXY_SECRET.encode())
        if not from_edge:
            for header in FORWARDED:
                meta.pop(header, None)
            meta["wsgi.url_scheme"] = "http"  # gunicorn may have set https from the forged header
        return self.get_response(request)
