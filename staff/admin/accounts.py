from django.contrib import admin

from accounts import signup, two_factor
from accounts.models import AuditEvent, Plan, Profile
from staff.admin.lists import RecentValuesFilter


class ActionFilter(RecentValuesFilter):
    title = "action"
    parameter_name = "action"
    field = "action"


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name", "label", "memory_mb", "cpu_millicores", "pids_limit", "disk_mb", "max_sites",
        "max_custom_domains", "max_push_mb", "build_timeout_seconds", "is_default",
    )
    list_editable = ("is_default",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by the services, never edited."""

    list_display = ("created_at", "organization", "actor_label", "by_staff", "action", "target", "site_name", "address")
    list_filter = ("by_staff", ActionFilter)
    # Organizations and sites by their exact name: a substring match of every column reads each of the
    # hundreds of thousands of events (twice: the page and its count), 400 ms at 200,000 (make bench).
    search_fields = ("=organization__slug", "=site_name", "actor_label", "target")
    search_help_text = "An organization's or a site's exact name, or part of an actor's e-mail or of a target."
    list_select_related = ("organization",)
    show_full_result_count = False  # a second count(*) over every event on each filtered page

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
