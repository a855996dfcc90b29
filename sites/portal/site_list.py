"""The sites of the organization the member works in (with live status), and creating one."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path

from accounts.portal import current_membership
from accounts.roles import Action
from accounts.services import authorize
from core.portal import attempt, failed
from hosting.runtimes import CATALOG
from sites import services
from sites.portal.abilities import abilities
from sites.portal.base import member_view

# A page of sites renders in well under 150 ms on a busy machine; 200 rows of the template did not.
SITES_PER_PAGE = 50
RUNTIME_CHOICES = [("auto", "Detect from the code (auto)")] + [(runtime.name, runtime.label) for runtime in CATALOG.values()]


def _no_organization(request):
    return render(request, "accounts/no_organization.html", status=403)


@member_view(GET=Action.READ)
def list(request):  # noqa: A001 (the URL name is `list`)
    membership = current_membership(request)
    if membership is None:
        return _no_organization(request)
    sites = request.member.sites().filter(organization=membership.organization).with_overview()
    page = Paginator(sites, SITES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"sites": page, "platform_domain": settings.PLATFORM_DOMAIN}
    if request.htmx:  # the rows of the page polling for their live status
        return render(request, "sites/_site_rows.html", context)
    return render(request, "sites/list.html", {
        **context, "nav": "sites", "can": abilities(request),
        "used": page.paginator.count, "allowed": membership.organization.plan.max_sites,
    })


@member_view(GET=Action.READ, POST=Action.CREATE_SITE)
def create(request):
    membership = current_membership(request)
    if membership is None:
        return _no_organization(request)
    organization = membership.organization
    form = {"name": "", "runtime": "auto"}
    if request.method == "POST":
        authorize(membership, Action.CREATE_SITE)
        form = {"name": request.POST.get("name", "").strip(), "runtime": request.POST.get("runtime", "auto")}
        site = attempt(request, services.create_site, organization, form["name"], form["runtime"])
        if not failed(site):
            messages.success(request, f"Created {site.name}. Push your code or upload an archive to deploy it.")
            return redirect("sites:overview", site.name)
    used, allowed = services.sites_used(organization)
    return render(request, "sites/create.html", {
        "nav": "sites", "form": form, "runtimes": RUNTIME_CHOICES, "organization": organization,
        "platform_domain": settings.PLATFORM_DOMAIN,
        "used": used, "allowed": allowed, "at_limit": used >= allowed, "can": abilities(request),
    }, status=400 if request.method == "POST" else 200)


@member_view(GET=Action.READ)
def check_name(request):
    """The name field's answer as the customer types: the exact problem, or that it is available."""
    name = request.GET.get("name", "").strip()
    problem = services.name_problem(name) if name else None
    return render(request, "sites/_name_check.html", {"name": name, "problem": problem})


urlpatterns = [
    path('', list, name='list'),
    path('sites/new/', create, name='create'),
    path('sites/check-name/', check_name, name='check-name'),
]
