"""The fleet in the staff site: hosts with their capacity, reservations and containers, and the
site containers (instances) themselves. Support staff only look (they have the view permission);
superusers may change a host's service address, each change audited as a platform-wide event."""
from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.http import urlencode

from accounts import audit
from hosting import cordon, staff_requests
from hosting.models import Host, HostPort, Instance
from sites import drain
from staff.admin.readonly import ReadOnlyAdmin

SHOWN_ON_HOST = 50  # containers and ports listed on a host's page; the rest are a link away


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "status_display", "last_heartbeat", "cpus", "memory_mb", "reserved_memory_display",
                    "free_memory_display", "reserved_cpu_display", "free_cpu_display", "instance_count_display",
                    "docker_version", "service_address")
    search_fields = ("name",)
    fields = ("name", "service_address", "status_display", "cordoned_at", "cordon_reason", "draining_since",
              "last_heartbeat", "down_since", "registered_at", "cpus",
              "memory_mb", "reserved_memory_display", "reserved_cpu_display", "docker_version", "kernel_version",
              "operating_system")
    readonly_fields = (
        "name", "cpus", "memory_mb", "docker_version", "kernel_version", "operating_system", "registered_at",
        "last_heartbeat", "down_since", "status_display", "reserved_memory_display", "reserved_cpu_display",
        "cordoned_at", "cordon_reason", "draining_since",
    )
    actions = ["refresh_capacity", "build_images", "cordon_hosts", "uncordon_hosts", "drain_hosts", "undrain_hosts"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_reservations()

    def has_add_permission(self, request) -> bool:
        return False  # a host's agent registers it

    @admin.display(description="status")
    def status_display(self, host: Host) -> str:
        state = host.fleet_state
        if host.cordon_reason and state in ("cordoned", "draining", "drained"):
            return f"{state}: {host.cordon_reason}"
        return state

    @admin.display(description="memory reserved (MB)", ordering="reserved_memory_mb")
    def reserved_memory_display(self, host: Host) -> int:
        return host.reserved_memory_mb

    @admin.display(description="memory free (MB)")
    def free_memory_display(self, host: Host) -> int:
        return host.free_memory_mb

    @admin.display(description="CPU reserved (millicores)", ordering="reserved_millicores")
    def reserved_cpu_display(self, host: Host) -> str:
        return f"{host.reserved_millicores} of {host.cpu_capacity_millicores}"

    @admin.display(description="CPU free (millicores)")
    def free_cpu_display(self, host: Host) -> int:
        return host.free_millicores

    @admin.display(description="containers", ordering="instance_count")
    def instance_count_display(self, host: Host) -> int:
        return host.instance_count

    def change_view(self, request, object_id, form_url="", extra_context=None):
        host = self.get_object(request, object_id)
        extra = host_page_context(host) if host is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit.record(None, "staff.host.change", obj.name, by=request.user, fields=sorted(form.changed_data))

    def delete_model(self, request, obj) -> None:
        name = obj.name
        super().delete_model(request, obj)
        audit.record(None, "staff.host.delete", name, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        names = list(queryset.values_list("name", flat=True))
        super().delete_queryset(request, queryset)
        for name in names:
            audit.record(None, "staff.host.delete", name, by=request.user)

    # Harmless (the heartbeat re-reads the same every few seconds): whoever may see hosts may ask.
    @admin.action(description="Ask the selected hosts' agents to refresh their capacity", permissions=["view"])
    def refresh_capacity(self, request, queryset):
        names = staff_requests.refresh_capacity(queryset, by=request.user)
        self.message_user(request, f"Asked {len(names)} host(s) to refresh their capacity.")

    @admin.action(description="Build the runtime images the selected hosts lack", permissions=["change"])
    def build_images(self, request, queryset):
        asked, skipped = staff_requests.build_images(queryset, by=request.user)
        report_builds(self, request, asked, skipped)


    # Cordon and drain change where sites run: hosts are edited by superusers only (staff/roles.py).
    @admin.action(description="Cordon the selected hosts (no new work)", permissions=["change"])
    def cordon_hosts(self, request, queryset):
        done = [host.name for host in queryset if cordon.cordon(host, _by(request), by=request.user)]
        self.message_user(request, f"Cordoned {', '.join(done) or 'nothing new'}; what runs there keeps running.")

    @admin.action(description="Uncordon the selected hosts", permissions=["change"])
    def uncordon_hosts(self, request, queryset):
        done = [host.name for host in queryset if cordon.uncordon(host, by=request.user)]
        self.message_user(request, f"{', '.join(done) or 'None of them'} get(s) work again.")

    @admin.action(description="Drain the selected hosts (move every site elsewhere)", permissions=["change"])
    def drain_hosts(self, request, queryset):
        for name, report in drain.drain_many(list(queryset), by=request.user, reason=_by(request)).items():
            self.message_user(request, f"Draining {name}: {len(report.moving)} site(s) moving, "
                              f"{len(report.under_way)} already moving.")
            for site, why in sorted(report.left.items()):
                self.message_user(request, f"Site {site} stays on {name}, serving: {why}", "warning")

    @admin.action(description="Undrain the selected hosts (work again)", permissions=["change"])
    def undrain_hosts(self, request, queryset):
        done = [host.name for host in queryset if drain.undrain(host, by=request.user)]
        self.message_user(request, f"{', '.join(done) or 'None of them'} get(s) work again.")


def _by(request) -> str:
    return f"from the staff site by {request.user.get_username()}"


def report_builds(model_admin: admin.ModelAdmin, request, asked: list[str], skipped: list[str]) -> None:
    if asked:
        model_admin.message_user(request, f"Asked {', '.join(asked)} to build the runtime images missing there; "
                                 "the catalog shows each image once its host has it.")
    if skipped:
        model_admin.message_user(request, f"Skipped {', '.join(skipped)}: down (no recent heartbeat).", "warning")


def host_page_context(host: Host) -> dict:
    """The host's latest containers and ports, bounded, with links to all of them."""
    instances = host.instances.order_by("-created_at", "-id")[:SHOWN_ON_HOST]
    ports = host.ports.order_by("port")[:SHOWN_ON_HOST]
    query = urlencode({"host__id__exact": host.pk})
    return {
        "host_instances": list(instances),
        "host_ports": list(ports),
        "shown_on_host": SHOWN_ON_HOST,
        "all_instances_url": f"{reverse('admin:hosting_instance_changelist')}?{query}",
        "all_ports_url": f"{reverse('admin:hosting_hostport_changelist')}?{query}",
    }


class PlatformRowsAdmin(ReadOnlyAdmin):
    """Rows the platform keeps itself; staff look, nobody edits them here."""

    show_full_result_count = False
    list_select_related = ("host",)


@admin.register(Instance)
class InstanceAdmin(PlatformRowsAdmin):
    list_display = ("name", "site_label", "release_label", "process", "host", "port", "memory_mb", "cpu_millicores",
                    "state", "created_at")
    list_filter = ("state", "process")
    search_fields = ("name", "=site_label")


@admin.register(HostPort)
class HostPortAdmin(PlatformRowsAdmin):
    list_display = ("host", "port", "holder", "allocated_at")
    search_fields = ("holder",)
