"""Sites, deployments and releases in the staff site: "why is my site down?" in one screen (the
site's page), the actions staff take on a site, and read-only deployments and releases."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts.services import OrganizationSuspended
from core.errors import HostingError
from sites import domains, services
from sites.models import Deployment, Domain, Release, Site
from staff.admin.audited import AuditedAdmin
from staff.admin.lists import BigTableAdmin
from staff.admin.readonly import ReadOnlyAdmin
from staff.admin.site_page import deployment_links, site_page_context


# --- sites: "why is my site down?" ---------------------------------------------------------------

# What staff may do to a site, the service that does it and the permission it needs (the server
# asks it for the page's buttons and the list's actions alike). A redeploy is a restart by another
# name (sites.services.redeploy), so support may do both; stop and start are superusers'.
SITE_ACTIONS: dict[str, tuple] = {
    "restart": (services.restart, "sites.restart_site", "Restart: a new container of the current release"),
    "redeploy": (services.redeploy, "sites.restart_site", "Redeploy the current release"),
    "stop": (services.stop, "sites.power_site", "Stop: no container runs, the edge shows the stopped page"),
    "start": (services.start, "sites.power_site", "Start the current release"),
}


def run_site_action(request: HttpRequest, site: Site, name: str) -> tuple[int, str]:
    """Do `name` to `site` as `request.user` (the services record it in the audit log); the
    message and level to show. Refused without the permission, whatever the page offered."""
    service, permission, _ = SITE_ACTIONS[name]
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"You may not {name} sites.")
    try:
        service(site, by=request.user)
    except (ValidationError, HostingError, OrganizationSuspended) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return messages.ERROR, f"{name.capitalize()} of {site.name} refused: {text}"
    return messages.SUCCESS, f"{name.capitalize()} of {site.name} asked for."


def _bulk(name: str):
    def action(modeladmin, request, queryset):
        for site in queryset.select_related("current_release", "organization"):
            level, text = run_site_action(request, site, name)
            modeladmin.message_user(request, text, level)

    action.__name__ = name  # the list's action field names it
    permission = "restart" if SITE_ACTIONS[name][1] == "sites.restart_site" else "power"
    return admin.action(description=SITE_ACTIONS[name][2], permissions=[permission])(action)


@admin.register(Site)
class SiteAdmin(ReadOnlyAdmin):
    """Read-mostly: no field is edited here. Each setting a customer has goes through its service
    (update_site, set_health_check_path) so the edge follows; staff act through the actions. No
    add (create_site makes the default domain and repository) and no delete (delete_site removes
    routes, containers and files: the customer's portal does it)."""

    change_form_template = "admin/sites/site/change_form.html"
    list_display = ("name", "organization", "status_shown", "host", "release", "desired_state")
    list_filter = ("desired_state", "runtime", "plan")
    search_fields = ("name", "organization__slug", "domains__hostname")
    fields = ("name", "uuid", "organization", "plan", "runtime", "desired_state", "url", "git_url", "writable_paths",
              "force_https", "hsts", "health_check_path", "created_at")
    readonly_fields = fields
    actions = [_bulk(name) for name in SITE_ACTIONS]

    def get_queryset(self, request):
        return Site.objects.with_overview().select_related("current_instance__host")

    def has_restart_permission(self, request) -> bool:
        return request.user.has_perm("sites.restart_site")

    def has_power_permission(self, request) -> bool:
        return request.user.has_perm("sites.power_site")

    @admin.display(description="status")
    def status_shown(self, site: Site) -> str:
        return site.status

    @admin.display(description="host", ordering="current_instance__host__name")
    def host(self, site: Site) -> str:
        return site.current_instance.host.name if site.current_instance else "-"

    @admin.display(description="release", ordering="current_release__version")
    def release(self, site: Site) -> str:
        return site.current_release.label if site.current_release else "-"

    def get_urls(self):
        own = [
            path("<int:site_id>/act/<str:name>/", self.admin_site.admin_view(require_POST(self.act)),
                 name="sites_site_act"),
            path("<int:site_id>/domains/<int:domain_id>/verify-by-hand/",
                 self.admin_site.admin_view(self.verify_by_hand), name="sites_site_verify_by_hand"),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        site = self.get_object(request, object_id)
        extra = site_page_context(request, site, SITE_ACTIONS) if site is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def act(self, request, site_id: int, name: str):
        if name not in SITE_ACTIONS:
            raise Http404(f"There is no site action {name!r}.")
        site = get_object_or_404(Site.objects.select_related("current_release", "organization"), pk=site_id)
        level, text = run_site_action(request, site, name)
        self.message_user(request, text, level)
        return HttpResponseRedirect(reverse("admin:sites_site_change", args=[site.pk]))

    def verify_by_hand(self, request, site_id: int, domain_id: int):
        """A custom domain staff vouch for: a form asking why, then the same routing as a
        verification by DNS or HTTP (sites.domains.verify_domain_by_hand)."""
        if not request.user.has_perm("sites.verify_domain_by_hand"):
            raise PermissionDenied("You may not verify domains by hand.")
        domain = get_object_or_404(Domain.objects.select_related("site__organization"), pk=domain_id, site_id=site_id)
        error = ""
        if request.method == "POST":
            try:
                domains.verify_domain_by_hand(domain, request.POST.get("reason", ""), by=request.user)
            except ValidationError as exc:
                error = "; ".join(exc.messages)
            else:
                self.message_user(request, f"{domain.hostname} is verified and routed.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:sites_site_change", args=[site_id]))
        context = {**self.admin_site.each_context(request), "domain": domain, "site": domain.site, "error": error,
                   "reason": request.POST.get("reason", ""), "opts": self.model._meta,
                   "title": f"Verify {domain.hostname} by hand"}
        return TemplateResponse(request, "admin/sites/site/verify_by_hand.html", context,
                                status=400 if error else 200)


# --- deployments and releases: read-only, with their logs -----------------------------------------


def _pre(text: str, element_id: str = ""):
    return format_html('<pre class="staff-log"{}>{}</pre>', format_html(' id="{}"', element_id) if element_id else "",
                       text or "(empty)")


@admin.register(Deployment)
class DeploymentAdmin(BigTableAdmin, ReadOnlyAdmin):
    list_display = ("id", "site", "trigger", "state", "source", "created_at", "finished_at", "internal_error_flag")
    list_filter = ("state", "trigger")
    search_fields = ("site__name",)
    list_select_related = ("site",)
    # The list reads neither logs nor tracebacks: a page of 100 rows does not load 100 build logs.
    list_defer = ("log", "error", "internal_error")
    fields = ("site", "trigger", "state", "source", "release", "created_by", "host_name", "task_id", "created_at",
              "started_at", "build_finished_at", "finished_at", "duration", "error", "traceback", "full_log")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("site", "release", "created_by").annotate(
            has_internal_error=ExpressionWrapper(~Q(internal_error=""), BooleanField()))

    @admin.display(description="internal error", boolean=True, ordering="has_internal_error")
    def internal_error_flag(self, deployment: Deployment) -> bool:
        return deployment.has_internal_error

    @admin.display(description="traceback (what the customer's internal error refers to)")
    def traceback(self, deployment: Deployment):
        return _pre(deployment.internal_error, "traceback") if deployment.internal_error else "-"

    @admin.display(description="log (live while it runs)")
    def full_log(self, deployment: Deployment):
        return _pre(deployment.log_so_far, "log")


@admin.register(Release)
class ReleaseAdmin(BigTableAdmin, ReadOnlyAdmin):
    """Never the encrypted config, nor any value of it."""

    list_display = ("site", "label", "description", "slug_sha", "slug_size", "created_at")
    search_fields = ("site__name",)
    list_select_related = ("site", "slug")
    list_defer = ("encrypted_config",)
    fields = ("site", "version", "description", "slug_sha", "slug_size", "slug_runtime", "created_at",
              "deployments_of")
    readonly_fields = fields

    @admin.display(description="slug sha256")
    def slug_sha(self, release: Release) -> str:
        return release.slug.sha256[:12]

    @admin.display(description="slug size (bytes)")
    def slug_size(self, release: Release) -> int:
        return release.slug.size_bytes

    @admin.display(description="runtime")
    def slug_runtime(self, release: Release) -> str:
        return release.slug.runtime

    @admin.display(description="deployments that used it (latest 20)")
    def deployments_of(self, release: Release):
        return deployment_links(release.deployments.order_by("-created_at", "-id")[:20],
                                          f"?release__id__exact={release.pk}")


@admin.register(Domain)
class DomainAdmin(ReadOnlyAdmin):
    """Every hostname of every site: which site has a name, and the claims still waiting for
    verification (verified by hand from here or the site's page). Never the token."""

    list_display = ("hostname", "site", "is_default", "verified_at", "created_at", "by_hand")
    list_filter = ("is_default", ("verified_at", admin.EmptyFieldListFilter))
    search_fields = ("hostname", "site__name")
    list_select_related = ("site",)
    fields = ("hostname", "site", "is_default", "verified_at", "created_at", "by_hand")
    readonly_fields = fields

    @admin.display(description="")
    def by_hand(self, domain: Domain):
        if domain.verified_at or domain.is_default:
            return ""
        url = reverse("admin:sites_site_verify_by_hand", args=[domain.site_id, domain.pk])
        return format_html('<a href="{}">Verify by hand…</a>', url)
