"""Admins of rows written only by services (the audit log, API tokens): staff look, never add, edit
or delete; any change is an action calling a service."""
from __future__ import annotations


class ReadOnlyAdmin:
    """A ModelAdmin mixin refusing add, change and delete (on the server, not only in the page)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
