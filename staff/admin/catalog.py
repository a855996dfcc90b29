"""The runtime catalog in the staff site: each runtime (hosting.runtimes), the tag its recipe gives
now (a content hash: a new tag means a changed recipe), and each host's images with Docker's build
time (hosting.RuntimeImage, recorded by the agents). Read-only; superusers may ask the live hosts to
build what they lack (built from the recipes on each host, never pulled from a registry)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Value, When
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from hosting import staff_requests
from hosting.image_catalog import OS, current_tags
from hosting.models import Host, RuntimeImage
from hosting.runtimes import CATALOG
from staff.admin.hosting import report_builds
from staff.admin.readonly import ReadOnlyAdmin

BUILD_PERMISSION = "hosting.change_host"  # superusers: support staff only view hosts


def catalog_rows() -> list[dict]:
    """The OS image and each runtime with the tag its recipe gives now (no query)."""
    tags = current_tags()
    rows = [{"name": OS, "label": "The OS image (Debian)", "version": "", "packages": "", "tag": tags[OS]}]
    rows += [{"name": runtime.name, "label": runtime.label, "version": runtime.version,
              "packages": " ".join(runtime.packages), "tag": tags[runtime.name]} for runtime in CATALOG.values()]
    return rows


@admin.register(RuntimeImage)
class RuntimeImageAdmin(ReadOnlyAdmin):
    list_display = ("runtime", "tag", "host", "created_at", "recorded_at", "current_display")
    list_filter = ("runtime",)
    search_fields = ("tag", "host__name")
    list_select_related = ("host",)
    show_full_result_count = False
    change_list_template = "admin/hosting/runtimeimage/change_list.html"

    def get_queryset(self, request):
        # Whether each image is what its recipe gives now, in SQL (the admin is shared by threads).
        current = [When(runtime=name, tag=tag, then=Value(True)) for name, tag in current_tags().items()]
        return super().get_queryset(request).annotate(
            is_current=Case(*current, default=Value(False), output_field=BooleanField()))

    @admin.display(description="current recipe", boolean=True, ordering="is_current")
    def current_display(self, image: RuntimeImage) -> bool:
        return image.is_current

    def changelist_view(self, request, extra_context=None):
        rows = catalog_rows()
        extra = {"catalog": rows, "may_build": request.user.has_perm(BUILD_PERMISSION),
                 "build_url": reverse("admin:hosting_runtimeimage_build")}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def get_urls(self):
        build = self.admin_site.admin_view(require_POST(self.build_view))
        return [path("build/", build, name="hosting_runtimeimage_build"), *super().get_urls()]

    def build_view(self, request):
        """Ask every host to build the images it lacks (down ones are skipped and named)."""
        if not request.user.has_perm(BUILD_PERMISSION):
            raise PermissionDenied("Only superusers may ask the hosts to build images.")
        asked, skipped = staff_requests.build_images(Host.objects.order_by("name"), by=request.user)
        if not asked and not skipped:
            self.message_user(request, "No host has registered yet.", messages.WARNING)
        report_builds(self, request, asked, skipped)
        return HttpResponseRedirect(reverse("admin:hosting_runtimeimage_changelist"))
