from django.contrib import admin

from accounts.models import AuditEvent, Plan


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
    list_filter = ("by_staff", "action")
    search_fields = ("organization__slug", "actor_label", "target", "site_name")
    list_select_related = ("organization",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
