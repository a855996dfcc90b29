"""The Environment tab's database section: attach a PostgreSQL database, give it a new password,
detach it. Each calls the same service as the API and comes back to the Environment tab."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path

from accounts.roles import Action
from core.portal import attempt, failed
from sites import databases
from sites.database_models import Database
from sites.models import Site
from sites.portal.base import site_view


def databases_context(site: Site) -> dict:
    """What the Environment tab's database section shows: the site's databases, and the engines it
    could still attach."""
    attached = list(site.databases.all())
    taken = {database.engine for database in attached}
    return {"databases": attached, "free_engines": [engine for engine in Database.Engine if engine not in taken]}


def _database(site: Site, engine: str) -> Database:
    # site_view found the site among the member's; its databases are the site's own.
    database = site.databases.filter(engine=engine).first()
    if database is None:
        raise Http404("The site has no database of that engine.")
    return database


@site_view(POST=Action.CONFIGURE)
def attach(request, site: Site):
    if not failed(attempt(request, databases.attach, site, request.POST.get("engine", ""), by=request.user)):
        messages.success(request, "The database is being made; the app gets DATABASE_URL in a new release when it is ready.")
    return redirect("sites:env", site.name)


@site_view(POST=Action.CONFIGURE)
def rotate(request, site: Site, engine: str):
    if not failed(attempt(request, databases.rotate, _database(site, engine), by=request.user)):
        messages.success(request, "A new password is being set; the app gets it in a new release.")
    return redirect("sites:env", site.name)


@site_view(POST=Action.DELETE_SITE)
def detach(request, site: Site, engine: str):
    if not failed(attempt(request, databases.detach, _database(site, engine), by=request.user)):
        messages.success(request, "The database is being dropped; the app's next release has no DATABASE_URL.")
    return redirect("sites:env", site.name)


urlpatterns = [
    path("sites/<str:name>/databases/", attach, name="database-attach"),
    path("sites/<str:name>/databases/<str:engine>/rotate/", rotate, name="database-rotate"),
    path("sites/<str:name>/databases/<str:engine>/detach/", detach, name="database-detach"),
]
