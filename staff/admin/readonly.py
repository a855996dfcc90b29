"""Admins of rows the platform's services write (sites, deployments, the audit log, API tokens, the
edge): staff read them and act through actions that call a service, never edit them."""
from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete in the admin, refused on the server, not only hidden (a view
    permission shows the rows). Big tables skip the full count of their rows."""

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
