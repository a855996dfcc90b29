from django.contrib import admin
from django.db.models import Q

from accounts import signup, two_factor
from accounts.models import AuditEvent, Organization, Plan, Profile
from staff.admin.audited import AuditedAdmin
from staff.admin.filters import organization_label, user_label, value_filter
from staff.admin.lists import RecentValuesFilter
from staff.admin.readonly import ReadOnlyAdmin


@admin.register(Plan)
class PlanAdmin(AuditedAdmin, admin.ModelAdmin):
    """Superusers create and edit plans (support staff only view them: they lack change_plan).
    An edit changes the limits of every site on the plan from its next release on."""

    platform_wide = True
    list_display = (
        "name", "label", "memory_mb", "cpu_millicores", "pids_limit", "disk_mb", "max_sites",
        "max_custom_domains", "max_processes", "max_push_mb", "build_timeout_seconds", "is_default",
    )
    list_editable = ("is_default",)


class ActionFilter(RecentValuesFilter):
    title = "action"
    parameter_name = "action"
    field = "action"


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("platform", "Platform-wide (hosts, plans, images)"), ("organizations", "Of an organization")]

    def queryset(self, request, queryset):
        if self.value() in ("platform", "organizations"):
            return queryset.filter(organization__isnull=self.value() == "platform")
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit log is written by the services, never edited."""

    list_display = ("created_at", "organization", "actor_label", "by_staff", "action", "target", "site_name", "address")
    # No filter lists every organization or user (there are thousands): links from their pages
    # choose one (`?organization__id__exact=7`, `?actor__id__exact=3`, `?site_name=shop`).
    list_filter = ("by_staff", ScopeFilter, ActionFilter,
                   value_filter("organization", "organization__id__exact", "organization__id", organization_label),
                   value_filter("site", "site_name", "site_name", numeric=False),
                   value_filter("actor", "actor__id__exact", "actor__id", user_label))
    search_fields = ("organization__slug", "site_name", "actor_label", "target")  # see get_search_results
    search_help_text = "An organization's or a site's exact name, the start of an actor's e-mail, or a target."
    list_select_related = ("organization",)

    def get_search_results(self, request, queryset, search_term):
        """The organization by its slug (its id, then the audit_by_org_time index), the site by its exact
        name, the actor by the start of their e-mail, the target exactly. Django's default, a substring
        match of each column through a join, read all 200,000 events of the bench twice: 400 ms."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(site_name=term) | Q(actor_label__istartswith=term) | Q(target=term)
        organization = Organization.objects.filter(slug=term.lower()).values_list("pk", flat=True).first()
        if organization is not None:
            match |= Q(organization_id=organization)
        return queryset.filter(match), False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Sign-in state of users; staff help a customer who lost their two-factor app and codes, or
    whose confirmation mail never arrived. The secret itself is never shown."""

    list_display = ("user", "email_confirmation_required", "email_confirmed_at", "totp_enabled_at")
    list_filter = ("email_confirmation_required",)
    search_fields = ("user__email", "user__username")
    fields = ("user", "email_confirmation_required", "email_confirmed_at", "totp_enabled_at")
    readonly_fields = fields
    list_select_related = ("user",)
    actions = ["turn_off_two_factor", "confirm_email"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Turn off two-factor authentication (lost app and recovery codes)")
    def turn_off_two_factor(self, request, queryset) -> None:
        for profile in queryset.select_related("user"):
            two_factor.turn_off(profile.user)
        self.message_user(request, f"Two-factor authentication is off for {queryset.count()} user(s).")

    @admin.action(description="Mark the e-mail address confirmed")
    def confirm_email(self, request, queryset) -> None:
        for profile in queryset.select_related("user"):
            signup.mark_confirmed(profile.user)
        self.message_user(request, f"{queryset.count()} address(es) confirmed.")
