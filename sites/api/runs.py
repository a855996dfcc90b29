"""One-off commands (`heroku run`), their output, and scheduled jobs.

POST .../runs/ streams the command's output back as it comes (text/plain; the run's id in the
`X-Run-Id` header and its address in `Location`), ending with its outcome line; with
`"attach": false` it answers at once. GET .../runs/<id>/ reads a run's output and exit code,
`?follow=true` streams it. Whoever may deploy may run and schedule; every member reads.
"""
from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.roles import Action
from sites import runs, schedules, streams
from sites.api.base import SiteView, TooMany, django_errors
from sites.api.run_serializers import (JobCreateSerializer, JobSerializer, JobUpdateSerializer, RunCreateSerializer,
                                       RunDetailSerializer, RunSerializer)
from sites.run_models import Run
from sites.run_tasks import SENDER

STREAMED = OpenApiResponse(response={"type": "string"}, description="The output as it comes (attach: true), its "
                           "last line the outcome: `-----> Run #N exited with code 0`, else ` !     Run #N: <why>`.")


def _streamed(run, body) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/plain; charset=utf-8", status=status.HTTP_201_CREATED)
    response["X-Run-Id"] = str(run.pk)
    response["Location"] = reverse("api-run", args=[run.site.name, run.pk])
    return response


class RunList(SiteView):
    @extend_schema(responses=RunSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(RunSerializer(site.runs.select_related("job", "release", "created_by")[:100], many=True).data)

    @extend_schema(request=RunCreateSerializer, responses={201: STREAMED, 202: RunSerializer})
    @django_errors
    def post(self, request, name: str):
        """Run a command in a one-off container of the current release (like `heroku run`)."""
        site = self.member.site(name, Action.DEPLOY)
        data = RunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = runs.start_run(site, data.validated_data["command"], Run.Trigger.API, SENDER, by=request.user)
        if not data.validated_data["attach"]:
            return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        try:
            return _streamed(run, runs.follow_output(run, request.META))
        except streams.TooManyStreams as exc:  # it runs all the same: its output is read with GET
            return Response({**RunSerializer(run).data, "detail": str(exc)}, status=status.HTTP_202_ACCEPTED)


class RunDetail(SiteView):
    @extend_schema(parameters=[OpenApiParameter("follow", bool, description="Stream the output until the run ends.")],
                   responses={200: RunDetailSerializer})
    def get(self, request, name: str, run_id: int):
        """A run's outcome and output."""
        run = self.member.run(name, run_id, Action.READ_LOGS)
        if request.query_params.get("follow", "").lower() in {"1", "true", "yes"} and not run.finished:
            try:
                return StreamingHttpResponse(runs.follow_output(run, request.META),
                                             content_type="text/plain; charset=utf-8")
            except streams.TooManyStreams as exc:
                raise TooMany(str(exc)) from None
        run.output = runs.output_so_far(run)
        return Response(RunDetailSerializer(run).data)


class JobList(SiteView):
    @extend_schema(responses=JobSerializer(many=True))
    def get(self, request, name: str):
        return Response(JobSerializer(schedules.jobs_of(self.member.site(name)), many=True).data)

    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer})
    @django_errors
    def post(self, request, name: str):
        """Schedule a command (cron, UTC); it replaces a hosting.toml job of the same name."""
        site = self.member.site(name, Action.DEPLOY)
        data = JobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = schedules.add_job(site, **data.validated_data, by=request.user)
        job.last_run = None
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetail(SiteView):
    @extend_schema(responses=JobSerializer)
    def get(self, request, name: str, job_name: str):
        job = self.member.job(name, job_name)
        job.last_run = job.runs.select_related("release", "created_by").order_by("-id").first()
        return Response(JobSerializer(job).data)

    @extend_schema(request=JobUpdateSerializer, responses=JobSerializer)
    @django_errors
    def patch(self, request, name: str, job_name: str):
        job = self.member.job(name, job_name, Action.DEPLOY)
        data = JobUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = schedules.change_job(job, **data.validated_data, by=request.user)
        job.last_run = job.runs.select_related("release", "created_by").order_by("-id").first()
        return Response(JobSerializer(job).data)

    @extend_schema(responses={204: None})
    @django_errors
    def delete(self, request, name: str, job_name: str):
        schedules.remove_job(self.member.job(name, job_name, Action.DEPLOY), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
