"""The edge in the staff site: how the last config apply went, the routing table, the upstream
addresses and the certificates. All read-only: the edge follows the sites, and certificates are
issued by the edge's own tasks; staff look here to answer "why is my domain not served?"."""
from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from proxy.models import Certificate, EdgeState, Route, Upstream
from staff.admin.readonly import ReadOnlyAdmin

EXPIRING_DAYS = 14


@admin.register(EdgeState)
class EdgeStateAdmin(ReadOnlyAdmin):
    """How the last apply of the edge config went; a refused config shows nginx's own words."""

    list_display = ("__str__", "applied_at", "apply_seconds", "failed_at", "error")
    readonly_fields = ("applied_at", "apply_seconds", "failed_at", "error")


@admin.register(Route)
class RouteAdmin(ReadOnlyAdmin):
    list_display = ("hostname", "group", "status", "upstreams", "https_redirect", "hsts", "updated_at")
    list_filter = ("status", "https_redirect")
    search_fields = ("hostname", "=group")
    readonly_fields = ("hostname", "group", "upstreams", "status", "https_redirect", "hsts", "updated_at")
    show_full_result_count = False


@admin.register(Upstream)
class UpstreamAdmin(ReadOnlyAdmin):
    """Which site (by uuid) holds each address now; an address is one site's at a time."""

    list_display = ("address", "group", "claimed_at")
    search_fields = ("address", "=group")
    readonly_fields = ("address", "group", "claimed_at")
    show_full_result_count = False


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("soon", f"Expires within {EXPIRING_DAYS} days (or expired)"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        issued = queryset.filter(state=Certificate.State.ISSUED)
        if self.value() == "soon":
            return issued.filter(expires_at__lt=now + timedelta(days=EXPIRING_DAYS))
        if self.value() == "expired":
            return issued.filter(expires_at__lt=now)
        return queryset


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("hostname", "group", "state", "expires_at", "attempted_at", "failed_attempts", "error")
    list_filter = ("state", ExpiryFilter)
    search_fields = ("hostname", "=group")
    readonly_fields = ("hostname", "group", "state", "error", "issued_at", "expires_at", "attempted_at",
                       "failed_attempts")
    ordering = ("hostname",)
    show_full_result_count = False
