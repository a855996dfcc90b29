"""Users in the staff site: Django's user admin, with links to what the user is and did in
customers' organizations (memberships, API tokens, audit events), each a filtered list."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html

from staff.admin.links import changelist_link

User = get_user_model()

if admin.site.is_registered(User):  # django.contrib.auth's admin registered it first
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    readonly_fields = (*UserAdmin.readonly_fields, "customer_side")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (*fieldsets, ("In customers' organizations", {"fields": ("customer_side",)}))

    @admin.display(description="memberships, tokens, actions")
    def customer_side(self, obj) -> str:
        return format_html("{} · {} · {}",
                           changelist_link("accounts.membership", "memberships", user__id__exact=obj.pk),
                           changelist_link("accounts.apitoken", "API tokens", user__id__exact=obj.pk),
                           changelist_link("accounts.auditevent", "what they did (audit log)", actor__id__exact=obj.pk))
