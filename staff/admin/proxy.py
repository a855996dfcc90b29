from django.contrib import admin

from proxy.models import Certificate, EdgeState, Route, Upstream


@admin.register(EdgeState)
class EdgeStateAdmin(admin.ModelAdmin):
    """How the last apply of the edge config went; a refused config shows nginx's own words."""

    list_display = ("__str__", "applied_at", "apply_seconds", "failed_at", "error")
    readonly_fields = ("applied_at", "apply_seconds", "failed_at", "error")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ("hostname", "group", "status", "upstreams", "https_redirect", "hsts", "updated_at")
    list_filter = ("status",)
    search_fields = ("hostname", "group")
    readonly_fields = ("hostname", "group", "upstreams", "status", "https_redirect", "hsts", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False  # routes follow sites; change the site instead


@admin.register(Upstream)
class UpstreamAdmin(admin.ModelAdmin):
    """Which site (by uuid) holds each address now; an address is one site's at a time."""

    list_display = ("address", "group", "claimed_at")
    search_fields = ("address", "group")
    readonly_fields = ("address", "group", "claimed_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ("hostname", "group", "state", "expires_at", "attempted_at", "failed_attempts", "error")
    list_filter = ("state",)
    search_fields = ("hostname", "group")
