"""Sites and what they run: domains, config, slugs, releases and deployments."""
from __future__ import annotations

import uuid
from datetime import timedelta

import redis
from django.conf import settings
from django.db import models

from accounts.models import Organization, Plan
from proxy import services as proxy
from sites.logstream import DeploymentLog
# Defined apart to keep each module small; imported here so that Django (and callers) find them in sites.models.
from sites.backup_models import SiteBackup  # noqa: F401
from sites.run_models import Run, ScheduledJob  # noqa: F401
from sites.validation import validate_health_check_path

# How a customer proves a custom domain is theirs: a TXT record at this name, or this path served
# with the token (sites.domains checks them).
TXT_PREFIX = "_hosting-verify"
VERIFICATION_PATH = "/.well-known/hosting-verification"
LIVE_LOG_UNAVAILABLE = "(The log of a running deployment cannot be read while the task queue is down.)\n"


class TenantQuerySet(models.QuerySet):
    """Rows of an organization's sites. `for_member` is the way in for views (see sites.tenancy):
    it keeps the rows of the organizations `user` belongs to, and no others."""

    organization_path = "site__organization"

    def for_member(self, user) -> "TenantQuerySet":
        return self.filter(**{f"{self.organization_path}__memberships__user": user})


class SiteQuerySet(TenantQuerySet):
    organization_path = "organization"

    def with_overview(self) -> "SiteQuerySet":
        """Sites with what a list of them shows, in one query whatever their number: the
        organization, plan and current release, and the latest deployment's state and time
        (annotations `latest_deployment_state`, `latest_deployment_at`, read by `Site.status`)."""
        latest = Deployment.objects.filter(site=models.OuterRef("pk")).order_by("-created_at", "-id")
        return self.select_related("organization", "plan", "current_release").annotate(
            latest_deployment_state=models.Subquery(latest.values("state")[:1]),
            latest_deployment_at=models.Subquery(latest.values("created_at")[:1]),
        )

    def with_status_in_sql(self) -> "SiteQuerySet":
        """Sites annotated with `status_in_sql`: Site.status's rules, in the same order, decided by
        the database, so counting sites by status is one query however many there are. "Deploying"
        is a deployment of the site not finished yet, as one hashed subquery: the latest deployment
        looked up per site made PostgreSQL compile the query (JIT) at 10,000 sites, 600 ms alone."""
        unfinished = Deployment.objects.exclude(state__in=Deployment.FINISHED).values("site_id")
        return self.annotate(status_in_sql=models.Case(
            models.When(organization__suspended=True, then=models.Value("suspended")),
            models.When(desired_state=Site.DesiredState.STOPPED, then=models.Value("stopped")),
            models.When(current_instance__isnull=False, then=models.Value("running")),
            models.When(pk__in=unfinished, then=models.Value("deploying")),
            default=models.Value("not deployed"), output_field=models.CharField()))

    def count_by_status(self) -> dict[str, int]:
        """{Site.status: how many sites show it}, in one query."""
        rows = self.order_by().with_status_in_sql().values("status_in_sql").annotate(count=models.Count("id"))
        return {row["status_in_sql"]: row["count"] for row in rows}


class ReleaseQuerySet(TenantQuerySet):
    def with_outcome(self) -> "ReleaseQuerySet":
        """Releases with what a list of them shows, in one query however many deployments each
        has (a restart deploys the same release again): whether one went live, whether all
        failed (read by `Release.status`), and who made it (`made_by_email`)."""
        deployments = Deployment.objects.filter(release=models.OuterRef("pk"))
        first = deployments.order_by("pk")
        return self.annotate(
            any_deployment=models.Exists(deployments),
            went_live=models.Exists(deployments.filter(state=Deployment.State.SUCCEEDED)),
            only_failed=~models.Exists(deployments.exclude(state=Deployment.State.FAILED)),
            made_by_email=models.Subquery(first.values("created_by__email")[:1]),
        )


class Site(models.Model):
    class DesiredState(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=40, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    runtime = models.CharField(max_length=16, default="auto", help_text="A runtime of the catalog, or auto.")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="sites")
    desired_state = models.CharField(max_length=16, choices=DesiredState.choices, default=DesiredState.RUNNING)
    writable_paths = models.JSONField(default=list, blank=True, help_text="Paths under /app kept in /data.")
    force_https = models.BooleanField(default=False, help_text="Redirect HTTP to HTTPS.")
    hsts = models.BooleanField(default=False, help_text="Send Strict-Transport-Security over HTTPS.")
    health_check_path = models.CharField(
        max_length=200, blank=True, validators=[validate_health_check_path], help_text="Path a new release must answer with 2xx/3xx before it goes live "
        "(empty: hosting.toml's, else any answer below 500 on /)."
    )
    # How many containers of each process type other than web run (Heroku's formation): {"worker": 2}.
    # Changed only by sites/formation.py, which checks it against the plan.
    formation = models.JSONField(default=dict, blank=True, help_text="Containers per process type (web excluded).")
    current_release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    current_instance = models.ForeignKey(
        "hosting.Instance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("restart_site", "Can restart a site and redeploy its current release"),
                       ("power_site", "Can stop and start a site")]

    def __str__(self) -> str:
        return self.name

    @property
    def route_group(self) -> str:
        """The key of the site's routes, certificates and traffic at the edge: its uuid. Never its
        name, which the next site of that name (in any organization) takes over."""
        return self.uuid.hex

    def set_health_check_path(self, path: str) -> None:
        """The path each new release must answer with 2xx/3xx before it goes live; empty: none."""
        self.health_check_path = validate_health_check_path(path)
        self.save(update_fields=["health_check_path"])

    @property
    def default_hostname(self) -> str:
        return f"{self.name}.{settings.PLATFORM_DOMAIN}"

    @property
    def url(self) -> str:
        """Where the site answers at the edge (its default domain)."""
        port = settings.PROXY_HTTP_PORT
        return f"http://{self.default_hostname}{'' if port == 80 else f':{port}'}/"

    @property
    def git_url(self) -> str:
        return f"{settings.PORTAL_URL.rstrip('/')}/git/{self.name}.git"

    @property
    def status(self) -> str:
        """What the customer sees first: suspended, stopped, running, deploying or not deployed."""
        if self.organization.suspended:
            return "suspended"
        if self.desired_state == self.DesiredState.STOPPED:
            return "stopped"
        if self.current_instance_id:
            return "running"
        if hasattr(self, "latest_deployment_state"):  # SiteQuerySet.with_overview: no query per site
            state = self.latest_deployment_state
        else:
            state = self.deployments.values_list("state", flat=True).first()
        return "deploying" if state and state not in Deployment.FINISHED else "not deployed"

    def routed_hostnames(self) -> list[str]:
        """The default domain and the verified custom domains; unverified ones are never routed."""
        return list(self.domains.filter(verified_at__isnull=False).values_list("hostname", flat=True))

    @property
    def uid(self) -> int:
        """The site's own uid and gid: its build, one-off and web containers run as it, and it owns
        the site's files (volume, build disk, slugs), so one site's process cannot read another's."""
        if self.pk is None:
            raise ValueError("a site has a uid once it is saved")
        return settings.SITE_UID_BASE + self.pk


class Domain(models.Model):
    """A hostname of a site: its default `<site>.<PLATFORM_DOMAIN>`, or a custom domain that is
    routed only once verified."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, unique=True, help_text="Lowercase ASCII (IDN in punycode).")
    is_default = models.BooleanField(default=False)
    verification_token = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        permissions = [("verify_domain_by_hand", "Can mark a custom domain verified by hand, with a reason")]

    def __str__(self) -> str:
        return self.hostname

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def verification(self) -> dict[str, str] | None:
        """How the customer proves they own the domain; None once it is verified."""
        if self.verified:
            return None
        return {
            "dns_txt_name": f"{TXT_PREFIX}.{self.hostname}",
            "dns_txt_value": f"hosting-verify={self.verification_token}",
            "http_url": f"http://{self.hostname}{VERIFICATION_PATH}",
            "http_body": self.verification_token,
        }  # sites.domain_setup.verification adds the note naming the record that points it at the platform

    @property
    def certificate(self) -> dict | None:
        """The edge's certificate for this name (state, error, expiry), if one was asked for."""
        return proxy.certificate_summary(self.hostname)


class EnvVar(models.Model):
    """A config var; its value is encrypted at rest with the platform's Fernet key."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="env_vars")
    key = models.CharField(max_length=128)
    encrypted_value = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "key"], name="one_value_per_key")]
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Slug(models.Model):
    """The result of a build: /app after the build, as a compressed tar with its sha256."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="slugs")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    runtime = models.CharField(max_length=16)
    source = models.CharField(max_length=80, help_text="Commit id or archive name it was built from.")
    processes = models.JSONField(default=dict, help_text="Procfile: process name -> command.")
    writable_paths = models.JSONField(default=list, help_text="From hosting.toml.")
    health_check_path = models.CharField(max_length=200, blank=True, help_text="From hosting.toml.")
    cron = models.JSONField(default=list, blank=True, help_text="From hosting.toml: [[cron]] name, schedule, command.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.site} {self.sha256[:12]}"


class Release(models.Model):
    """v1, v2, ...: a slug plus a snapshot of config. Config changes and rollbacks add releases."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="releases")
    version = models.PositiveIntegerField()
    # RESTRICT: a slug in use by a release cannot go, unless its whole site is being deleted.
    slug = models.ForeignKey(Slug, on_delete=models.RESTRICT, related_name="releases")
    encrypted_config = models.TextField(help_text="The env vars at release time, encrypted JSON.")
    description = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "version"], name="one_release_per_version")]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.site} v{self.version}"

    @property
    def label(self) -> str:
        return f"v{self.version}"

    @property
    def making(self) -> "Deployment | None":
        """The deployment that made this release (later ones restart or start it again)."""
        if "deployments" in getattr(self, "_prefetched_objects_cache", {}):
            return min(self.deployments.all(), key=lambda deployment: deployment.pk, default=None)
        # One row, not all of them: a release restarted thousands of times has as many deployments.
        return self.deployments.select_related("created_by").order_by("pk").first()

    @property
    def status(self) -> str:
        """current (serving now), succeeded (went live before), failed (never went live: no
        rollback to it), or pending (its deployment still runs)."""
        if self.site.current_release_id == self.pk:
            return "current"
        if hasattr(self, "went_live"):  # ReleaseQuerySet.with_outcome: no query per release
            if self.went_live or not self.any_deployment:
                return "succeeded"
            return "failed" if self.only_failed else "pending"
        states = {deployment.state for deployment in self.deployments.all()}
        if Deployment.State.SUCCEEDED in states or not states:  # no deployment: made before they were linked
            return "succeeded"
        return "failed" if states == {Deployment.State.FAILED} else "pending"


class Deployment(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        RELEASING = "releasing", "Releasing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        PUSH = "push", "git push"
        ARCHIVE = "archive", "Archive upload"
        CONFIG = "config", "Config change"
        ROLLBACK = "rollback", "Rollback"
        RESTART = "restart", "Restart"
        START = "start", "Start"

    FINISHED = {State.SUCCEEDED, State.FAILED}

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="deployments")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    source = models.CharField(max_length=200, blank=True, help_text="Commit id, archive name, or what changed.")
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments")
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    build_finished_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # A bug's traceback, for staff (admin); the customer reads only a reference to it in `error`.
    internal_error = models.TextField(blank=True)
    # The host whose agent runs it: an agent that starts again fails what it left unfinished.
    host_name = models.CharField(max_length=63, blank=True)
    # Who asked for it: the member whose push, upload or API call it was (none for the platform's own).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.site} #{self.pk} {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def duration(self) -> timedelta | None:
        """From the start of its work (or its creation) to its end; None while it runs."""
        if self.finished_at is None:
            return None
        return self.finished_at - (self.started_at or self.created_at)

    @property
    def log_so_far(self) -> str:
        """The whole log of a finished deployment; what a running one has written until now."""
        if self.finished:
            return self.log
        stream = DeploymentLog(self.id)
        try:
            return stream.text()
        except (redis.ConnectionError, redis.TimeoutError):
            return LIVE_LOG_UNAVAILABLE  # a read answers while Redis is down; the log is kept there
        finally:
            stream.close()



from sites.database_models import Database  # noqa: E402,F401 (a model of this app: registered with it)
