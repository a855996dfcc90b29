"""Site pages: environment variables (masked, revealed on demand) and settings."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from accounts.roles import Action
from core.portal import attempt, back, failed
from sites import services
from sites.dotenv import parse_dotenv
from sites.models import Deployment, Site
from sites.portal.abilities import abilities
from sites.portal.base import site_view
from sites.portal.databases import databases_context
from sites.portal.pages import render_tab


def _env_page(request, site: Site, status: int = 200, revealed: dict | None = None, form: dict | None = None):
    revealed = revealed or {}
    rows = [{"var": var, "revealed": var.key in revealed, "value": revealed.get(var.key)} for var in site.env_vars.all()]
    return render_tab(
        request, site, "env", "sites/env.html", status=status, rows=rows, form=form or {},
        **databases_context(site), may=abilities(request, site, Action.CONFIGURE, Action.REVEAL_ENV, Action.DELETE_SITE),
    )


def _announce(request, site: Site, what: str, deployment: Deployment | None) -> None:
    """Say what a config change did: the release it makes, linked to its deployment."""
    if deployment is None:
        messages.success(request, f"{what}. Nothing is deployed yet: the first deploy uses it.")
        return
    url = reverse("sites:deployment", args=[site.name, deployment.pk])
    if deployment.release_id:
        text = format_html("{}: new release {} is being deployed. <a href=\"{}\">Follow the deployment</a>",
                           what, deployment.release.label, url)
    else:
        text = format_html("{}: a new release is queued behind the running deployment. <a href=\"{}\">Follow it</a>",
                           what, url)
    messages.success(request, text)


@site_view(GET=Action.READ, POST=Action.CONFIGURE)
def env(request, site: Site):
    if request.method == "GET":
        return _env_page(request, site)
    form = {name: request.POST.get(name, "") for name in ("key", "value", "dotenv")}
    if "dotenv" in request.POST:
        values = attempt(request, parse_dotenv, form["dotenv"])
    else:
        values = {form["key"].strip(): form["value"]}
    if failed(values):
        return _env_page(request, site, status=400, form=form)
    deployment = attempt(request, services.set_env, site, values, by=request.user)
    if failed(deployment):
        return _env_page(request, site, status=400, form=form)
    _announce(request, site, f"Set {', '.join(sorted(values))}", deployment)
    return redirect("sites:env", site.name)


@site_view(POST=Action.REVEAL_ENV)
@never_cache  # a revealed secret stays out of every cache
def env_reveal(request, site: Site, key: str):
    value = attempt(request, services.env_value, site, key, by=request.user)
    if failed(value):
        return back(request, "sites:env", site.name)  # htmx: a whole page, not a page inside the cell
    if request.htmx:
        return render(request, "sites/env_value.html", {"site": site, "key": key, "value": value})
    return _env_page(request, site, revealed={key: value})


@site_view(POST=Action.CONFIGURE)
def env_delete(request, site: Site, key: str):
    deployment = attempt(request, services.unset_env, site, [key], by=request.user)
    if not failed(deployment):
        _announce(request, site, f"Removed {key}", deployment)
    return redirect("sites:env", site.name)


def _settings_fields(form) -> dict:
    """What one of the settings page's forms asks to change (each form is its own role's)."""
    if form.get("form") == "app":
        paths = [line.strip() for line in form.get("writable_paths", "").splitlines() if line.strip()]
        return {"writable_paths": paths, "health_check_path": form.get("health_check_path", "").strip()}
    if form.get("form") == "https":
        return {"force_https": "force_https" in form, "hsts": "hsts" in form}
    return {}


def _settings_page(request, site: Site, status: int = 200, form: dict | None = None):
    values = form or {"writable_paths": "\n".join(site.writable_paths), "health_check_path": site.health_check_path}
    return render_tab(
        request, site, "settings", "sites/settings.html", status=status, plan=site.plan, values=values,
        may=abilities(request, site, Action.CONFIGURE, Action.MANAGE_HTTPS, Action.DELETE_SITE),
    )


@site_view(GET=Action.READ, POST=Action.CONFIGURE)
def settings(request, site: Site):
    if request.method == "GET":
        return _settings_page(request, site)
    fields = _settings_fields(request.POST)
    for action in services.actions_to_update(fields):  # as the API's PATCH: each field its own role
        request.member.authorize_site(site, action)
    if not fields:
        messages.error(request, "Nothing to change: send the settings form.")
        return _settings_page(request, site, status=400)
    if failed(attempt(request, services.configure_site, site, fields)):
        return _settings_page(request, site, status=400, form=request.POST)
    messages.success(request, "HTTPS settings saved: the edge applies them now." if "hsts" in fields
                     else "App settings saved: they apply from the next deploy or restart.")
    return redirect("sites:settings", site.name)


urlpatterns = [
    path('sites/<str:name>/env/', env, name='env'),
    path('sites/<str:name>/env/<str:key>/reveal/', env_reveal, name='env-reveal'),
    path('sites/<str:name>/env/<str:key>/delete/', env_delete, name='env-delete'),
    path('sites/<str:name>/settings/', settings, name='settings'),
]
