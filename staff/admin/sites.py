from django.contrib import admin

from staff.admin.audited import AuditedAdmin
from sites.models import Deployment, Domain, Release, Site


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("hostname", "is_default", "verified_at")
    readonly_fields = fields


@admin.register(Site)
class SiteAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ("name", "organization", "runtime", "plan", "desired_state", "current_release", "created_at")
    list_filter = ("desired_state", "runtime", "plan")
    search_fields = ("name", "organization__slug")
    readonly_fields = ("uuid", "url", "git_url", "status", "current_release", "current_instance", "created_at")
    inlines = [DomainInline]

    def site_of(self, obj) -> str:
        return obj.name


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("id", "site", "trigger", "state", "source", "created_at", "finished_at")
    list_filter = ("state", "trigger")
    search_fields = ("site__name", "source")
    readonly_fields = [f.name for f in Deployment._meta.fields]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("site", "version", "description", "created_at")
    search_fields = ("site__name",)
    readonly_fields = ("site", "version", "slug", "description", "created_at")
    exclude = ("encrypted_config",)
