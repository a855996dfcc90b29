"""What the API shows of sites, domains, deployments and releases, and the bodies it accepts.

No decisions and no queries here: what a field shows is a model's field or property."""
from __future__ import annotations

from rest_framework import serializers

from hosting.runtimes import CATALOG
from sites import domain_setup
from sites.models import Deployment, Domain, Release, Site
from sites.validation import validate_site_name


class SiteSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True)
    git_url = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    current_release = serializers.CharField(source="current_release.label", read_only=True, allow_null=True)
    domains = serializers.ListField(child=serializers.CharField(), source="routed_hostnames", read_only=True)

    class Meta:
        model = Site
        fields = ["name", "organization", "url", "git_url", "status", "runtime", "current_release", "writable_paths",
                  "force_https", "hsts", "health_check_path", "domains", "created_at"]


class SiteCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, validators=[validate_site_name])
    runtime = serializers.ChoiceField(choices=["auto", *sorted(CATALOG)], default="auto")
    organization = serializers.CharField(required=False, help_text="Organization slug (needed when you have several).")
    writable_paths = serializers.ListField(child=serializers.CharField(max_length=300), required=False, default=list)


class SiteUpdateSerializer(serializers.Serializer):
    """A field it does not take is refused, not ignored: a client that sent `name` would otherwise
    believe the site was renamed."""

    FIXED = {"name": "A site's name cannot change: create a new site (and move its domains) instead.",
             "runtime": "The runtime is detected at each deploy (or set in hosting.toml); it is not changed here.",
             "organization": "A site cannot move to another organization."}

    writable_paths = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    force_https = serializers.BooleanField(required=False, help_text="Redirect HTTP to HTTPS.")
    hsts = serializers.BooleanField(required=False, help_text="Send Strict-Transport-Security over HTTPS.")
    health_check_path = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        extra = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if extra:
            raise serializers.ValidationError({key: [self.FIXED.get(key, "Not a field of a site that can change.")]
                                               for key in extra})
        return attrs


class DomainSerializer(serializers.ModelSerializer):
    verified = serializers.BooleanField(read_only=True)
    verification = serializers.SerializerMethodField(help_text="How to prove the domain is yours (None once verified); "
                                                   "`note` names the record that points it at the platform.")
    certificate = serializers.DictField(read_only=True, allow_null=True)

    class Meta:
        model = Domain
        fields = ["hostname", "is_default", "verified", "verified_at", "verification", "certificate", "created_at"]

    def get_verification(self, domain: Domain) -> dict[str, str] | None:
        return domain_setup.verification(domain)


class DomainCreateSerializer(serializers.Serializer):
    hostname = serializers.CharField(max_length=300)


class DeploymentSerializer(serializers.ModelSerializer):
    release = serializers.CharField(source="release.label", read_only=True, allow_null=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Deployment
        fields = ["id", "trigger", "state", "source", "release", "created_by", "error", "created_at", "started_at",
                  "build_finished_at", "finished_at"]


class DeploymentDetailSerializer(DeploymentSerializer):
    log = serializers.CharField(source="log_so_far", read_only=True)

    class Meta(DeploymentSerializer.Meta):
        fields = DeploymentSerializer.Meta.fields + ["log"]


class ReleaseSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="slug.sha256")
    runtime = serializers.CharField(source="slug.runtime")
    commit = serializers.CharField(source="slug.source", help_text="The commit (and branch) or archive it was built from.")
    trigger = serializers.CharField(source="making.trigger", allow_null=True, default=None)
    created_by = serializers.EmailField(source="making.created_by.email", allow_null=True, default=None)

    class Meta:
        model = Release
        fields = ["version", "label", "status", "description", "commit", "trigger", "created_by", "slug", "runtime",
                  "created_at"]


class ArchiveSerializer(serializers.Serializer):
    archive = serializers.FileField(help_text="A .tar.gz, .tar or .zip of the app's source.")


class EnvSetSerializer(serializers.Serializer):
    vars = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False))


class RollbackSerializer(serializers.Serializer):
    release = serializers.CharField(help_text="The release to roll back to, as shown (v1) or its number (1).")
