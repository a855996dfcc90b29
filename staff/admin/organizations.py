"""Organizations in the staff site: plan, members, sites, usage against quota and API tokens on one
page; suspend, unsuspend and change plan as actions (staff/admin/organization_actions.py)."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.models import ApiToken, Membership, Organization
from sites import metrics
from sites.models import Site
from sites.usage import organization_usage
from staff.admin.audited import AuditedAdmin
from staff.admin.links import changelist_link
from staff.admin.members import MembershipInline, bounded_members, save_membership_formset
from staff.admin.organization_actions import OrganizationActions

# Change pages list this many sites and tokens; the rest are a link to the filtered list.
SHOWN = 20


def _count_of(model, **match) -> Coalesce:
    rows = model.objects.filter(**match).order_by().values(*match).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(Organization)
class OrganizationAdmin(OrganizationActions, AuditedAdmin, admin.ModelAdmin):
    list_display = ("slug", "name", "plan", "suspended", "sites_used", "members", "created_at")
    list_filter = ("suspended", "plan")
    list_select_related = ("plan",)
    search_fields = ("slug", "name")
    inlines = [MembershipInline]
    # Suspension and the plan change go through the actions (the services behind `manage.py
    # suspend` and `set_plan`): a field in this form would only flip the column.
    readonly_fields = ("suspended", "suspended_reason", "suspended_at", "created_at", "usage", "site_list",
                       "token_list", "audit_log")

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).annotate(
            site_count=_count_of(Site, organization=OuterRef("pk")),
            member_count=_count_of(Membership, organization=OuterRef("pk")),
        )

    def get_readonly_fields(self, request, obj=None):
        # The plan is chosen when the organization is made; later it changes through the action.
        return (*self.readonly_fields, "plan") if obj is not None else self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = ["slug", "name", "plan"]
        if obj is None:
            return fields
        return [*fields, "suspended", "suspended_reason", "suspended_at", "created_at", "usage", "site_list",
                "token_list", "audit_log"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting the rows would leave the sites' containers running: delete the sites first
        # (each deletion stops its containers), then the empty organization.
        if obj is not None and obj.sites.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, MembershipInline):
            kwargs["queryset"] = bounded_members(obj if obj is not None and obj.pk else None)
        return kwargs

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is Membership:
            save_membership_formset(request, form.instance, formset)
        else:
            super().save_formset(request, form, formset, change)

    def organization_of(self, obj):
        return obj if obj.pk else None

    @admin.display(description="sites used", ordering="site_count")
    def sites_used(self, obj) -> str:
        return f"{obj.site_count} / {obj.plan.max_sites}"

    @admin.display(description="members", ordering="member_count")
    def members(self, obj) -> int:
        return obj.member_count

    @admin.display(description="usage against the plan")
    def usage(self, obj) -> str:
        report = organization_usage(Site.objects.all(), obj, disk_of=metrics.disk_bytes_of)
        disk = sum(s.disk_bytes or 0 for s in report.sites)
        full = [s.site.name for s in report.sites if (s.disk_percent or 0) >= 90]
        if len(full) > SHOWN:
            full = full[:SHOWN] + [f"and {len(full) - SHOWN} more"]
        return format_html(
            "Sites: {} of {} ({}%). Custom domains: {} ({} per site allowed). Disk used: {} MB "
            "({} MB per site allowed){}.",
            report.sites_used, report.plan.max_sites, report.sites_percent,
            sum(s.custom_domains for s in report.sites), report.plan.max_custom_domains,
            disk // 2**20, report.plan.disk_mb, f"; at least 90% full: {', '.join(full)}" if full else "",
        )

    @admin.display(description="sites")
    def site_list(self, obj) -> str:
        sites = Site.objects.filter(organization=obj).select_related("current_release").order_by("name")[:SHOWN]
        rows = format_html_join("", '<li><a href="{}">{}</a> ({}, {})</li>', (
            (reverse("admin:sites_site_change", args=[s.pk]), s.name, s.desired_state,
             s.current_release.label if s.current_release else "no release") for s in sites))
        more = changelist_link("sites.site", "all its sites", organization__id__exact=obj.pk)
        return format_html("<ul>{}</ul>{}", rows, more) if rows else "No sites."

    @admin.display(description="API tokens of its members")
    def token_list(self, obj) -> str:
        tokens = (ApiToken.objects.filter(user__memberships__organization=obj).select_related("user")
                  .order_by("-created_at")[:SHOWN])
        rows = format_html_join("", "<li>{}… {} of {} ({})</li>", (
            (t.prefix, t.name or "unnamed", t.user.email or t.user.username,
             "revoked" if t.revoked_at else "active") for t in tokens))
        more = changelist_link("accounts.apitoken", "list them to revoke one", organization=obj.pk)
        return format_html("<ul>{}</ul>{}", rows, more) if rows else "No tokens."

    @admin.display(description="audit log and members")
    def audit_log(self, obj) -> str:
        return format_html("{} · {}", changelist_link("accounts.auditevent", "its audit log", organization__id__exact=obj.pk),
                           changelist_link("accounts.membership", "its members", organization__id__exact=obj.pk))
