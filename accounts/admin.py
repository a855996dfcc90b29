from django.contrib import admin

from accounts.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name", "label", "memory_mb", "cpu_millicores", "pids_limit", "disk_mb", "max_sites",
        "max_custom_domains", "max_push_mb", "build_timeout_seconds", "is_default",
    )
    list_editable = ("is_default",)
