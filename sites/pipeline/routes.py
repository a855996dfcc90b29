"""What the edge shows for a site, as the pipeline moves it: the live instance, a status page
(starting, stopped, suspended), or nothing at all. Changes go through proxy's service and reach the
edge when the caller's transaction commits.
"""
from __future__ import annotations

from accounts.services import OrganizationSuspended, ensure_active
from hosting.models import Instance
from proxy import services as proxy
from sites.models import Deployment, Site


def suspended_reason(site: Site) -> str:
    """Why the site's organization is suspended, or '' when it is not."""
    try:
        ensure_active(site.organization)
    except OrganizationSuspended as exc:
        return str(exc)
    return ""


def route_live(site: Site, instance: Instance) -> None:
    """Point the site's names at `instance` alone, which must be the site's own instance that just
    answered (its address as the fleet reported it now). A switch replaces the old address. A
    suspended organization's site keeps its suspended page."""
    status = "suspended" if suspended_reason(site) else "live"
    proxy.set_routes(site.route_group, site.routed_hostnames(), [instance.upstream], status,
                     https_redirect=site.force_https, hsts=site.hsts)


def route_without_instance(site: Site, status: str) -> None:
    """The site's names show a status page (starting, stopped) and reach no address."""
    proxy.set_routes(site.route_group, site.routed_hostnames(), [],
                     "suspended" if suspended_reason(site) else status)


def show_starting_page(site: Site) -> None:
    """A site with nothing serving shows the starting page while a deployment runs."""
    if site.current_instance_id is None:
        route_without_instance(site, "starting")


def page_after_failure(site_id: int) -> None:
    """Nothing serving and the deployment failed: the stopped page for a site that ran before,
    else no route at all (an unknown host)."""
    site = Site.objects.filter(pk=site_id).first()
    if site is None or site.current_instance_id is not None:
        return
    ran_before = Deployment.objects.filter(site=site, state__in=Deployment.FINISHED).exclude(
        state=Deployment.State.FAILED).exists()
    if ran_before or suspended_reason(site):
        route_without_instance(site, "stopped")  # a suspended organization's site: the suspended page
    else:
        proxy.remove_routes(site.route_group)
