"""What a running site shows: its container's log lines and its traffic through the edge."""
from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from accounts.roles import Action
from proxy import services as proxy
from sites import runtime_logs, streams
from sites.api.base import SiteView, TooMany, Unavailable, django_errors, int_param


class Logs(SiteView):
    @extend_schema(
        parameters=[OpenApiParameter("lines", int, description="How many recent lines (default 100, at most 5000)."),
                    OpenApiParameter("follow", bool, description="Keep the response open and stream new lines."),
                    OpenApiParameter("process", str, description="web (the default), or a process container of "
                                     "the formation: worker.1, worker.2, ...")],
        responses={200: {"type": "string"}, 503: {"description": "The site's host cannot be asked for its logs now."}},
    )
    @django_errors
    def get(self, request, name: str):
        """The last lines of the site's running container, optionally followed."""
        site = self.member.site(name, Action.READ_LOGS)
        lines = int_param(request, "lines", default=100, high=5000)
        follow = request.query_params.get("follow", "").lower() in {"1", "true", "yes"}
        process = request.query_params.get("process", "")
        # Nothing runs: say why (stopped, suspended, not deployed) rather than answer an empty list.
        silence = runtime_logs.silence(site, process)
        try:
            if not follow:
                return Response({"lines": runtime_logs.tail(site, lines, process), "note": silence})
            if silence:
                return HttpResponse(f"{silence}\n", content_type="text/plain; charset=utf-8")
            body = runtime_logs.follow(site, lines, request.META, process)
        except streams.TooManyStreams as exc:
            raise TooMany(str(exc)) from None
        except runtime_logs.LogsUnavailable as exc:  # the site's host does not answer: say so, not a 500
            raise Unavailable(str(exc)) from None
        return StreamingHttpResponse(body, content_type="text/plain; charset=utf-8")


class Traffic(SiteView):
    @extend_schema(
        parameters=[OpenApiParameter("minutes", int, description="How far back (default 60, at most 10080).")],
        responses={200: {"type": "array", "items": {"type": "object"}}},
    )
    def get(self, request, name: str):
        """Requests and bytes per minute through the edge."""
        site = self.member.site(name)
        minutes = int_param(request, "minutes", default=60, high=10080)
        return Response(proxy.traffic_of(site.route_group, minutes))
