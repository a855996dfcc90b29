"""Site pages: domains (the default one and custom ones: DNS records to create, verification, TLS)."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path

from accounts.roles import Action
from core.portal import attempt, failed
from sites.domain_setup import domain_states
from sites.domains import add_domain, remove_domain, verify_domain
from sites.models import Site
from sites.portal.abilities import abilities
from sites.portal.base import site_view
from sites.portal.pages import render_tab


def _page(request, site: Site, status: int = 200, hostname: str = ""):
    states = domain_states(site)
    return render_tab(
        request, site, "domains", "sites/domains.html", status=status, states=states, hostname=hostname,
        custom_count=sum(1 for state in states if not state.domain.is_default), plan=site.plan,
        may=abilities(request, site, Action.MANAGE_DOMAINS),
    )


@site_view(GET=Action.READ, POST=Action.MANAGE_DOMAINS)
def domains(request, site: Site):
    if request.method == "GET":
        return _page(request, site)
    hostname = request.POST.get("hostname", "")
    domain = attempt(request, add_domain, site, hostname)
    if failed(domain):
        return _page(request, site, status=400, hostname=hostname)
    messages.success(request, f"Added {domain.hostname}. Create its DNS records below, then verify it.")
    return redirect("sites:domains", site.name)


def _change_domain(request, site: Site, hostname: str, service, done: str):
    domain = request.member.domain(site.name, hostname, Action.MANAGE_DOMAINS)
    if not failed(attempt(request, service, domain)):
        messages.success(request, done.format(hostname=domain.hostname))
    return redirect("sites:domains", site.name)


@site_view(POST=Action.MANAGE_DOMAINS)
def domain_verify(request, site: Site, hostname: str):
    return _change_domain(request, site, hostname, verify_domain, "{hostname} is verified: it is routed to your site now.")


@site_view(POST=Action.MANAGE_DOMAINS)
def domain_delete(request, site: Site, hostname: str):
    return _change_domain(request, site, hostname, remove_domain, "Removed {hostname}: it no longer reaches your site.")


urlpatterns = [
    path('sites/<str:name>/domains/', domains, name='domains'),
    path('sites/<str:name>/domains/<str:hostname>/verify/', domain_verify, name='domain-verify'),
    path('sites/<str:name>/domains/<str:hostname>/delete/', domain_delete, name='domain-delete'),
]
