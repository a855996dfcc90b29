from django.contrib import admin, messages

from staff.admin.audited import AuditedAdmin
from staff.admin.lists import BigTableAdmin
from accounts.models import Organization
from sites import services
from sites.models import Deployment, Domain, Release, Site


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ("slug", "name", "plan", "suspended", "suspended_reason", "created_at")
    list_filter = ("suspended", "plan")
    search_fields = ("slug", "name")
    actions = ["suspend", "restore"]
    # Suspension goes through the actions (the same service as `manage.py suspend`), which also
    # stop the sites' containers; a checkbox in the form would only flip the flag.
    readonly_fields = ("suspended", "suspended_at", "created_at")

    def organization_of(self, obj):
        return obj if obj.pk else None

    @admin.action(description="Suspend: their sites show the suspended page")
    def suspend(self, request, queryset):
        for org in queryset:
            services.suspend_organization(org, org.suspended_reason or f"suspended by {request.user} in the admin")
        self.message_user(request, f"Suspended {queryset.count()} organization(s).", messages.WARNING)

    @admin.action(description="Restore suspended organizations")
    def restore(self, request, queryset):
        for org in queryset:
            services.unsuspend_organization(org)
        self.message_user(request, f"Restored {queryset.count()} organization(s).")


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("hostname", "is_default", "verified_at")
    readonly_fields = fields


@admin.register(Site)
class SiteAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ("name", "organization", "runtime", "plan", "desired_state", "release", "created_at")
    list_filter = ("desired_state", "runtime", "plan")
    list_select_related = ("organization", "plan", "current_release")
    show_full_result_count = False  # a second count(*) over every site on each filtered page
    search_fields = ("name", "organization__slug")
    readonly_fields = ("uuid", "url", "git_url", "status", "current_release", "current_instance", "created_at")
    inlines = [DomainInline]

    def site_of(self, obj) -> str:
        return obj.name

    @admin.display(description="current release", ordering="current_release__version")
    def release(self, site: Site) -> str:
        # The label, not str(release), which names the release's site again: a query per row.
        return site.current_release.label if site.current_release else "-"


@admin.register(Deployment)
class DeploymentAdmin(BigTableAdmin):
    list_display = ("id", "site", "trigger", "state", "source", "created_at", "finished_at")
    list_select_related = ("site",)
    list_defer = ("log", "error", "internal_error")
    list_filter = ("state", "trigger")
    search_fields = ("site__name", "source")
    readonly_fields = [f.name for f in Deployment._meta.fields]


@admin.register(Release)
class ReleaseAdmin(BigTableAdmin):
    list_display = ("site", "version", "description", "created_at")
    list_select_related = ("site",)
    list_defer = ("encrypted_config",)
    search_fields = ("site__name",)
    readonly_fields = ("site", "version", "slug", "description", "created_at")
    exclude = ("encrypted_config",)
