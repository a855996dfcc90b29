"""Accounts: what customers buy (plans); organizations and members come with the sites issue."""
from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models


class Plan(models.Model):
    """Quotas and limits a site runs under. Staff edit plans in the admin."""

    name = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    memory_mb = models.PositiveIntegerField(validators=[MinValueValidator(32)], help_text="Memory per container (MB); swap is not allowed.")
    cpu_millicores = models.PositiveIntegerField(validators=[MinValueValidator(50)], help_text="CPU per container; 1000 is one core.")
    pids_limit = models.PositiveIntegerField(validators=[MinValueValidator(16)], help_text="Processes and threads per container.")
    disk_mb = models.PositiveIntegerField(validators=[MinValueValidator(16)], help_text="Quota of the site's persistent /data volume (MB).")
    tmp_mb = models.PositiveIntegerField(default=64, validators=[MinValueValidator(1)], help_text="Size of the in-memory /tmp (MB), counted in memory.")
    max_sites = models.PositiveIntegerField(help_text="Sites an organization on this plan may create.")
    max_custom_domains = models.PositiveIntegerField(help_text="Custom domains per site.")
    max_push_mb = models.PositiveIntegerField(help_text="Largest git push or archive upload (MB).")
    build_timeout_seconds = models.PositiveIntegerField(validators=[MinValueValidator(30)])
    build_disk_mb = models.PositiveIntegerField(
        default=2048, validators=[MinValueValidator(64)],
        help_text="Disk for builds on each host: the source, the build's output, dependency caches and unpacked slugs (MB).",
    )
    backup_mb = models.PositiveIntegerField(
        default=1024, help_text="Storage for the backups of each site's /data (MB); the oldest go first.",
    )
    # One-off commands and scheduled jobs (sites/runs.py): each is a container with the plan's limits.
    run_timeout_seconds = models.PositiveIntegerField(
        default=900, validators=[MinValueValidator(10)],
        help_text="Longest a one-off command or a scheduled job may run (s); it is killed then.",
    )
    max_parallel_runs = models.PositiveIntegerField(
        default=2, validators=[MinValueValidator(1)],
        help_text="One-off commands and scheduled jobs of a site running at once.",
    )
    max_scheduled_jobs = models.PositiveIntegerField(default=5, help_text="Scheduled jobs per site.")
    max_processes = models.PositiveIntegerField(
        default=0, help_text="Containers of other process types (workers) a site may run beside its web one; "
        "each has the memory and CPU above.")
    smtp_allowed = models.BooleanField(default=False, help_text="Sites may open outbound connections to port 25.")
    max_databases = models.PositiveIntegerField(default=1, help_text="Databases an organization on this plan may attach.")
    database_mb = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(8)],
        help_text="Size of each database (MB); a database over it becomes read-only until it is under again.")
    database_connections = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(2)], help_text="Connections each database's role may hold at once.")
    is_default = models.BooleanField(default=False, help_text="Given to new organizations.")

    class Meta:
        ordering = ["memory_mb", "name"]

    def __str__(self) -> str:
        return self.label


class Organization(models.Model):
    """A client organization: the tenant. Every customer-owned object belongs to one."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organizations")
    suspended = models.BooleanField(default=False, help_text="Suspended organizations' sites show a suspended page.")
    suspended_reason = models.CharField(max_length=500, blank=True, help_text="Why staff suspended it.")
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        permissions = [("suspend_organization", "Can suspend and unsuspend organizations"),
                       ("set_organization_plan", "Can change an organization's plan")]

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"


class OwnedByUserQuerySet(models.QuerySet):
    """Rows that belong to one user (their memberships, their tokens): `for_member` is the way in for views."""

    def for_member(self, user) -> "OwnedByUserQuerySet":
        return self.filter(user=user)


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OwnedByUserQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="None: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedByUserQuerySet.as_manager()

    class Meta:
        permissions = [("revoke_apitoken", "Can revoke API tokens (a leaked one)")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class AuditEvent(models.Model):
    """One write to an organization's objects: who (a member, staff, or the platform itself), what,
    when, from which address. Written by the services (accounts.audit.record), never edited."""

    # None: a platform-wide staff action (a host, a plan, the runtime images), seen only by staff.
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="audit_events")
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The actor's e-mail when it happened: kept when the user is gone or changes address.
    actor_label = models.CharField(max_length=254, blank=True, help_text="Empty: the platform itself.")
    by_staff = models.BooleanField(default=False, help_text="Done by the hosting company's staff.")
    action = models.CharField(max_length=64, help_text="What was done, e.g. env.set, site.create.")
    target = models.CharField(max_length=300, blank=True, help_text="What it was done to, as shown.")
    # The site's name at the time (a string: accounts knows nothing of sites; a deleted site's events stay).
    site_name = models.CharField(max_length=40, blank=True, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="audit_by_org_time"),
                   models.Index(fields=["organization", "site_name", "-created_at"], name="audit_by_org_site_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'platform'} {self.action} {self.target}"


class Profile(models.Model):
    """A user's sign-in state beyond Django's User: e-mail confirmation and two-factor.

    A user without a profile, or whose profile does not require confirmation (made by an operator's
    command, an invitation or before sign-up existed), is confirmed: only a portal sign-up waits
    for its link."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="profile")
    email_confirmation_required = models.BooleanField(default=False, help_text="Signed up in the portal.")
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Fernet-encrypted base32 TOTP secret; empty: two-factor is off.
    totp_secret = models.TextField(blank=True)
    totp_enabled_at = models.DateTimeField(null=True, blank=True)
    # The last time step whose code was accepted: a code is never accepted twice (RFC 6238 §5.2).
    totp_last_step = models.BigIntegerField(default=0)

    objects = OwnedByUserQuerySet.as_manager()

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @property
    def may_log_in(self) -> bool:
        return not self.email_confirmation_required or self.email_confirmed_at is not None

    @property
    def two_factor_enabled(self) -> bool:
        return bool(self.totp_secret)


class RecoveryCode(models.Model):
    """A single-use two-factor recovery code; only its SHA-256 is stored, the code is shown once."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedByUserQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "digest"], name="recovery_code_by_user")]

    def __str__(self) -> str:
        return f"recovery code of {self.user}"


class InvitationQuerySet(models.QuerySet):
    """Invitations are an organization's rows: views reach them through `of_organization`."""

    def of_organization(self, organization: Organization) -> "InvitationQuerySet":
        return self.filter(organization=organization)


class Invitation(models.Model):
    """An invitation to join an organization, sent by e-mail and bound to that address. Only the
    token's SHA-256 is stored; the link in the mail is the one copy of the token."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices)
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "email"], name="invitation_by_org_email")]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"
