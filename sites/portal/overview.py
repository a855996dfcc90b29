"""A site's overview (what runs, how to deploy, recent deployments), its process actions
(restart, stop, start) and deleting it with a typed confirmation."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path

from accounts.roles import Action
from core.portal import attempt, back, failed
from sites import services
from sites.formation import formation_of
from sites.portal.abilities import abilities
from sites.portal.base import site_view
from sites.portal.pages import render_tab

RECENT_DEPLOYMENTS = 5


@site_view(GET=Action.READ)
def overview(request, site):
    release = site.current_release
    recent = site.deployments.select_related("release", "created_by")[:RECENT_DEPLOYMENTS]
    return render_tab(request, site, "overview", "sites/overview.html", release=release,
                      made_by=release.making if release else None, recent=recent, can=abilities(request, site),
                      processes=formation_of(site))


def _rolled_out(request, site, deployment, done: str):
    """After restart or start: follow the new deployment, or come back with the reason it could not start."""
    if failed(deployment):
        return back(request, "sites:overview", site.name)
    messages.success(request, done)
    return redirect("sites:deployment", site.name, deployment.pk)


@site_view(POST=Action.OPERATE)
def restart(request, site):
    deployment = attempt(request, services.restart, site, by=request.user)
    return _rolled_out(request, site, deployment, f"Restarting {site.name} with its current release.")


@site_view(POST=Action.OPERATE)
def start(request, site):
    deployment = attempt(request, services.start, site, by=request.user)
    return _rolled_out(request, site, deployment, f"Starting {site.name}.")


@site_view(POST=Action.OPERATE)
def stop(request, site):
    if not failed(attempt(request, services.stop, site, by=request.user)):
        messages.success(request, f"Stopping {site.name}: visitors see the stopped page until you start it again.")
    return back(request, "sites:overview", site.name)


@site_view(GET=Action.DELETE_SITE, POST=Action.DELETE_SITE)
def delete(request, site):
    if request.method == "POST":
        if request.POST.get("confirm", "").strip() != site.name:
            messages.error(request, f"Type the site name ({site.name}) exactly to confirm; nothing was deleted.")
            return render_tab(request, site, "settings", "sites/delete.html", status=400)
        if not failed(attempt(request, services.delete_site, site)):
            messages.success(request, f"Deleted {site.name}: its addresses no longer answer, and its files are being removed.")
            return redirect("sites:list")
    return render_tab(request, site, "settings", "sites/delete.html")


urlpatterns = [
    path('sites/<str:name>/', overview, name='overview'),
    path('sites/<str:name>/restart/', restart, name='restart'),
    path('sites/<str:name>/stop/', stop, name='stop'),
    path('sites/<str:name>/start/', start, name='start'),
    path('sites/<str:name>/delete/', delete, name='delete'),
]
