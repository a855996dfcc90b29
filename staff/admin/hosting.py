from django.contrib import admin

from hosting import tasks
from hosting.models import Host


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "status_display", "cpus", "memory_mb", "docker_version", "service_address", "last_heartbeat")
    search_fields = ("name",)
    readonly_fields = (
        "cpus", "memory_mb", "docker_version", "kernel_version", "operating_system",
        "registered_at", "last_heartbeat", "down_since", "status_display",
    )

    @admin.display(description="status")
    def status_display(self, host: Host) -> str:
        return host.status

    @admin.action(description="Ask the selected hosts' agents to refresh their capacity")
    def refresh_capacity(self, request, queryset):
        for host in queryset:
            tasks.request_capacity_refresh(host)
        self.message_user(request, f"Asked {queryset.count()} host(s) to refresh their capacity.")

    actions = ["refresh_capacity"]
