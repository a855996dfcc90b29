"""What an organization uses of its plan: sites, custom domains and disk, for the portal's Usage page."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from accounts.models import Organization, Plan
from sites.models import Site


@dataclass(frozen=True)
class SiteUsage:
    site: Site
    custom_domains: int
    disk_bytes: int | None  # None: not measured yet (nothing ran, or the agent has not sampled it)

    @property
    def disk_limit_bytes(self) -> int:
        return self.site.plan.disk_mb * 2**20

    @property
    def disk_percent(self) -> int | None:
        if self.disk_bytes is None:
            return None
        return min(100, round(100 * self.disk_bytes / self.disk_limit_bytes))


@dataclass(frozen=True)
class OrganizationUsage:
    organization: Organization
    plan: Plan
    sites: list[SiteUsage]

    @property
    def sites_used(self) -> int:
        return len(self.sites)

    @property
    def sites_percent(self) -> int:
        return min(100, round(100 * self.sites_used / self.plan.max_sites)) if self.plan.max_sites else 100

    @property
    def at_site_limit(self) -> bool:
        return self.sites_used >= self.plan.max_sites


def organization_usage(sites, organization: Organization, disk_of=lambda site_list: {}) -> OrganizationUsage:
    """The usage of `organization`, from `sites` (the member's scope); `disk_of(sites)` maps a
    site's pk to the bytes its /data volume holds."""
    rows = list(sites.filter(organization=organization).select_related("plan")
                .annotate(custom_domain_count=Count("domains", filter=Q(domains__is_default=False))).order_by("name"))
    disk = disk_of(rows)
    return OrganizationUsage(organization, organization.plan,
                             [SiteUsage(site, site.custom_domain_count, disk.get(site.pk)) for site in rows])
