"""Staff writes in the admin land in the customer's audit log, like members' writes do."""
from __future__ import annotations

from accounts import audit
from accounts.models import Organization


class AuditedAdmin:
    """A ModelAdmin mixin: saving or deleting a row records an event in its organization's audit
    log, naming the fields staff changed. `organization_of(obj)` and `site_of(obj)` say where;
    `platform_wide` admins (plans, hosts) record with no organization, seen by staff only."""

    platform_wide = False

    def organization_of(self, obj) -> Organization | None:
        return getattr(obj, "organization", None)

    def site_of(self, obj) -> str:
        return ""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        organization = self.organization_of(obj)
        if organization is not None or self.platform_wide:
            verb = "change" if change else "add"
            audit.record(organization, f"staff.{obj._meta.model_name}.{verb}", str(obj), site=self.site_of(obj),
                         by=request.user, fields=sorted(form.changed_data))

    def delete_model(self, request, obj) -> None:
        organization = self.organization_of(obj)
        target, site = str(obj), self.site_of(obj)
        super().delete_model(request, obj)
        if self.platform_wide or (organization is not None and Organization.objects.filter(pk=organization.pk).exists()):
            audit.record(organization, f"staff.{obj._meta.model_name}.delete", target, site=site, by=request.user)
