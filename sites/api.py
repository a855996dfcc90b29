"""REST API under /api/v1/: sites by name, their deployments, releases, config, actions and logs.

Views authorise through sites.services.get_site_for_member with the action they perform (another
organization's site is a 404; the role matrix and suspension decide the rest), then call one service.
"""
from __future__ import annotations

import shutil

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Action
from core.errors import HostingError, QueueUnavailable
from hosting.runtimes import CATALOG
from proxy.models import Certificate
from sites import domains, runtime_logs, services, streams, uploads
from sites.logstream import DeploymentLog
from sites.models import Deployment, Domain, Release, Site


class SiteSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    git_url = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    current_release = serializers.SerializerMethodField()
    domains = serializers.SerializerMethodField()

    class Meta:
        model = Site
        fields = ["name", "organization", "url", "git_url", "status", "runtime", "current_release", "writable_paths",
                  "force_https", "hsts", "domains", "created_at"]

    def get_url(self, site: Site) -> str:
        return services.site_url(site)

    def get_git_url(self, site: Site) -> str:
        return services.git_url(site)

    def get_status(self, site: Site) -> str:
        if site.organization.suspended:
            return "suspended"
        if site.desired_state == Site.DesiredState.STOPPED:
            return "stopped"
        if site.current_instance_id:
            return "running"
        latest = site.deployments.first()
        return "deploying" if latest and not latest.finished else "not deployed"

    def get_current_release(self, site: Site) -> str | None:
        return site.current_release.label if site.current_release_id else None

    def get_domains(self, site: Site) -> list[str]:
        return list(site.domains.filter(verified_at__isnull=False).values_list("hostname", flat=True))


class SiteCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    runtime = serializers.ChoiceField(choices=["auto", *sorted(CATALOG)], default="auto")
    organization = serializers.CharField(required=False, help_text="Organization slug (needed when you have several).")
    writable_paths = serializers.ListField(child=serializers.CharField(max_length=300), required=False, default=list)


class SiteUpdateSerializer(serializers.Serializer):
    writable_paths = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    force_https = serializers.BooleanField(required=False, help_text="Redirect HTTP to HTTPS.")
    hsts = serializers.BooleanField(required=False, help_text="Send Strict-Transport-Security over HTTPS.")


class DomainSerializer(serializers.ModelSerializer):
    verified = serializers.SerializerMethodField()
    verification = serializers.SerializerMethodField()
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["hostname", "is_default", "verified", "verified_at", "verification", "certificate", "created_at"]

    def get_verified(self, domain: Domain) -> bool:
        return domain.verified_at is not None

    def get_verification(self, domain: Domain) -> dict | None:
        return None if domain.verified_at else domains.instructions(domain)

    def get_certificate(self, domain: Domain) -> dict | None:
        cert = Certificate.objects.filter(hostname=domain.hostname).first()
        if cert is None:
            return None
        return {"state": cert.state, "error": cert.error, "expires_at": cert.expires_at}


class DomainCreateSerializer(serializers.Serializer):
    hostname = serializers.CharField(max_length=300)


class DeploymentSerializer(serializers.ModelSerializer):
    release = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = ["id", "trigger", "state", "source", "release", "error", "created_at", "started_at",
                  "build_finished_at", "finished_at"]

    def get_release(self, deployment: Deployment) -> str | None:
        return deployment.release.label if deployment.release_id else None


LIVE_LOG_UNAVAILABLE = "(The log of a running deployment cannot be read while the task queue is down.)\n"


class DeploymentDetailSerializer(DeploymentSerializer):
    log = serializers.SerializerMethodField()

    class Meta(DeploymentSerializer.Meta):
        fields = DeploymentSerializer.Meta.fields + ["log"]

    def get_log(self, deployment: Deployment) -> str:
        if deployment.finished:
            return deployment.log
        stream = DeploymentLog(deployment.id)
        try:
            return stream.text()
        except (redis.ConnectionError, redis.TimeoutError):
            return LIVE_LOG_UNAVAILABLE  # a read answers while Redis is down; the log is kept there
        finally:
            stream.close()


class ReleaseSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="slug.sha256")
    runtime = serializers.CharField(source="slug.runtime")

    class Meta:
        model = Release
        fields = ["version", "description", "slug", "runtime", "created_at"]


class ArchiveSerializer(serializers.Serializer):
    archive = serializers.FileField(help_text="A .tar.gz, .tar or .zip of the app's source.")


class EnvSetSerializer(serializers.Serializer):
    vars = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False))


class RollbackSerializer(serializers.Serializer):
    release = serializers.CharField(help_text="The release to roll back to, as shown (v1) or its number (1).")


class QueueDown(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def _django_errors(fn):
    """Our services raise Django's exceptions; the API answers them as DRF does."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc) or None) from None
        except QueueUnavailable as exc:
            raise QueueDown(str(exc)) from None
        except HostingError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _int_param(request, name: str, default: int, high: int) -> int:
    """A whole-number query parameter, kept between 1 and `high`."""
    try:
        return max(1, min(int(request.query_params.get(name, default)), high))
    except ValueError:
        raise ValidationError({name: ["A whole number, please."]}) from None


def _accepted(deployment: Deployment | None) -> Response:
    if deployment is None:
        return Response({"deployment": None}, status=status.HTTP_200_OK)
    return Response(DeploymentSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)


class SiteList(APIView):
    @extend_schema(responses=SiteSerializer(many=True))
    def get(self, request):
        return Response(SiteSerializer(services.sites_of_member(request.user), many=True).data)

    @extend_schema(request=SiteCreateSerializer, responses={201: SiteSerializer})
    @_django_errors
    def post(self, request):
        data = SiteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_for_new_site(request.user, data.validated_data.get("organization"))
        site = services.create_site(org, data.validated_data["name"], data.validated_data["runtime"],
                                    data.validated_data["writable_paths"])
        return Response(SiteSerializer(site).data, status=status.HTTP_201_CREATED)


class SiteDetail(APIView):
    @extend_schema(responses=SiteSerializer)
    def get(self, request, name: str):
        return Response(SiteSerializer(services.get_site_for_member(request.user, name)).data)

    @extend_schema(request=SiteUpdateSerializer, responses=SiteSerializer)
    @_django_errors
    def patch(self, request, name: str):
        site = services.get_site_for_member(request.user, name)
        data = SiteUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        for action in services.actions_to_update(data.validated_data):
            services.authorize_site(request.user, site, action)
        return Response(SiteSerializer(services.update_site(site, **data.validated_data)).data)

    @extend_schema(responses={204: None})
    @_django_errors
    def delete(self, request, name: str):
        services.delete_site(services.get_site_for_member(request.user, name, Action.DELETE_SITE))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeploymentList(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=DeploymentSerializer(many=True))
    def get(self, request, name: str):
        site = services.get_site_for_member(request.user, name)
        return Response(DeploymentSerializer(site.deployments.select_related("release")[:100], many=True).data)

    @extend_schema(request={"multipart/form-data": ArchiveSerializer}, responses={202: DeploymentSerializer})
    @_django_errors
    def post(self, request, name: str):
        """Deploy an uploaded archive of the app's source."""
        site = services.get_site_for_member(request.user, name, Action.DEPLOY)
        data = ArchiveSerializer(data=uploads.read_within_plan(request, site.plan.max_push_mb))
        data.is_valid(raise_exception=True)
        upload = data.validated_data["archive"]

        def write_archive(path_for) -> None:
            path = path_for(".upload")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as out:
                upload.seek(0)
                shutil.copyfileobj(upload, out)

        label = f"archive {upload.name[:100]}"
        return _accepted(services.deploy_source(site, Deployment.Trigger.ARCHIVE, label, write_archive))


class DeploymentDetail(APIView):
    @extend_schema(responses=DeploymentDetailSerializer)
    def get(self, request, name: str, deployment_id: int):
        site = services.get_site_for_member(request.user, name)
        deployment = site.deployments.filter(pk=deployment_id).first()
        if deployment is None:
            raise Http404("No such deployment.")
        return Response(DeploymentDetailSerializer(deployment).data)


class ReleaseList(APIView):
    @extend_schema(responses=ReleaseSerializer(many=True))
    def get(self, request, name: str):
        site = services.get_site_for_member(request.user, name)
        return Response(ReleaseSerializer(site.releases.select_related("slug")[:100], many=True).data)


class EnvVars(APIView):
    @extend_schema(responses={200: {"type": "object", "additionalProperties": {"type": "string"}}})
    def get(self, request, name: str):
        """The names of the site's env vars; values are never returned."""
        site = services.get_site_for_member(request.user, name)
        return Response({key: "(set)" for key in site.env_vars.values_list("key", flat=True)})

    @extend_schema(request=EnvSetSerializer, responses={202: DeploymentSerializer})
    @_django_errors
    def post(self, request, name: str):
        """Set env vars; the site gets a new release with them."""
        site = services.get_site_for_member(request.user, name, Action.CONFIGURE)
        data = EnvSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _accepted(services.set_env(site, data.validated_data["vars"]))


class EnvVar(APIView):
    @extend_schema(responses={202: DeploymentSerializer})
    @_django_errors
    def delete(self, request, name: str, key: str):
        site = services.get_site_for_member(request.user, name, Action.CONFIGURE)
        return _accepted(services.unset_env(site, [key]))


class SiteAction(APIView):
    action = ""

    @extend_schema(request=None, responses={202: DeploymentSerializer})
    @_django_errors
    def post(self, request, name: str):
        site = services.get_site_for_member(request.user, name, Action.OPERATE)
        if self.action == "stop":
            services.stop(site)
            return Response({"status": "stopping"}, status=status.HTTP_202_ACCEPTED)
        return _accepted({"restart": services.restart, "start": services.start}[self.action](site))


class Rollback(APIView):
    @extend_schema(request=RollbackSerializer, responses={202: DeploymentSerializer})
    @_django_errors
    def post(self, request, name: str):
        site = services.get_site_for_member(request.user, name, Action.OPERATE)
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _accepted(services.rollback(site, data.validated_data["release"]))


class Logs(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("lines", int, description="How many recent lines (default 100, at most 5000)."),
                    OpenApiParameter("follow", bool, description="Keep the response open and stream new lines.")],
        responses={200: {"type": "string"}},
    )
    @_django_errors
    def get(self, request, name: str):
        """The last lines of the site's running container, optionally followed."""
        site = services.get_site_for_member(request.user, name, Action.READ_LOGS)
        lines = _int_param(request, "lines", default=100, high=5000)
        follow = request.query_params.get("follow", "").lower() in {"1", "true", "yes"}
        if not follow:
            return Response({"lines": runtime_logs.tail(site, lines)})
        try:
            body = runtime_logs.follow(site, lines, request.META)
        except streams.TooManyStreams as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        return StreamingHttpResponse(body, content_type="text/plain; charset=utf-8")


def _domain(site: Site, hostname: str) -> Domain:
    domain = site.domains.filter(hostname=hostname.lower().rstrip(".")).first()
    if domain is None:
        raise Http404("No such domain on this site.")
    return domain


class DomainList(APIView):
    @extend_schema(responses=DomainSerializer(many=True))
    def get(self, request, name: str):
        site = services.get_site_for_member(request.user, name)
        return Response(DomainSerializer(site.domains.order_by("-is_default", "hostname"), many=True).data)

    @extend_schema(request=DomainCreateSerializer, responses={201: DomainSerializer})
    @_django_errors
    def post(self, request, name: str):
        """Add a custom domain; it is routed once verified (see `verification`)."""
        site = services.get_site_for_member(request.user, name, Action.MANAGE_DOMAINS)
        data = DomainCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        domain = domains.add_domain(site, data.validated_data["hostname"])
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDetail(APIView):
    @extend_schema(responses=DomainSerializer)
    def get(self, request, name: str, hostname: str):
        site = services.get_site_for_member(request.user, name)
        return Response(DomainSerializer(_domain(site, hostname)).data)

    @extend_schema(responses={204: None})
    @_django_errors
    def delete(self, request, name: str, hostname: str):
        site = services.get_site_for_member(request.user, name, Action.MANAGE_DOMAINS)
        domains.remove_domain(_domain(site, hostname))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerify(APIView):
    @extend_schema(request=None, responses=DomainSerializer)
    @_django_errors
    def post(self, request, name: str, hostname: str):
        """Check the DNS TXT record or the HTTP token now; a verified domain is routed and gets a certificate."""
        site = services.get_site_for_member(request.user, name, Action.MANAGE_DOMAINS)
        return Response(DomainSerializer(domains.verify_domain(_domain(site, hostname))).data)


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
        minutes = _int_param(request, "minutes", default=60, high=10080)
        since = timezone.now() - timedelta(minutes=minutes)
        rows = SiteTraffic.objects.filter(group=site.route_group, minute__gte=since).order_by("minute")
        return Response([{"minute": r.minute, "requests": r.requests, "bytes": r.bytes_sent} for r in rows])
