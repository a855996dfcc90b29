"""What a running site shows: its container's log lines and its traffic through the edge."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from django.http import StreamingHttpResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Action
from sites import deploys, runtime_logs, services, streams
from sites.api.base import django_errors, int_param


class Logs(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("lines", int, description="How many recent lines (default 100, at most 5000)."),
                    OpenApiParameter("follow", bool, description="Keep the response open and stream new lines.")],
        responses={200: {"type": "string"}},
    )
    @django_errors
    def get(self, request, name: str):
        """The last lines of the site's running container, optionally followed."""
        site = services.get_site_for_member(request.user, name, Action.READ_LOGS)
        lines = int_param(request, "lines", default=100, high=5000)
        follow = request.query_params.get("follow", "").lower() in {"1", "true", "yes"}
        if not follow:
            return Response({"lines": runtime_logs.tail(site, lines)})
        try:
            body = runtime_logs.follow(site, lines, request.META)
        except streams.TooManyStreams as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        return StreamingHttpResponse(body, content_type="text/plain; charset=utf-8")


class Traffic(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("minutes", int, description="How far back (default 60, at most 10080).")],
        responses={200: {"type": "array", "items": {"type": "object"}}},
    )
    def get(self, request, name: str):
        """Requests and bytes per minute through the edge."""
        from datetime import timedelta

        from django.utils import timezone

        from proxy.models import SiteTraffic

        site = services.get_site_for_member(request.user, name)
        minutes = int_param(request, "minutes", default=60, high=10080)
        since = timezone.now() - timedelta(minutes=minutes)
        rows = SiteTraffic.objects.filter(group=deploys.route_group(site), minute__gte=since).order_by("minute")
        return Response([{"minute": r.minute, "requests": r.requests, "bytes": r.bytes_sent} for r in rows])
