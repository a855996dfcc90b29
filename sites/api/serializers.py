"""What the API shows of sites, domains, deployments and releases, and the bodies it accepts."""
from __future__ import annotations

import redis
from rest_framework import serializers

from hosting.runtimes import CATALOG
from proxy.models import Certificate
from sites import domains, services
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
    release = serializers.IntegerField(min_value=1, help_text="The release number to roll back to (1 for v1).")
