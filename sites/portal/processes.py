"""A site's process types (workers): the scale form on the overview posts here."""
from __future__ import annotations

from django.contrib import messages
from django.urls import path

from accounts.roles import Action
from core.portal import attempt, back, failed
from sites import services
from sites.formation import process_types
from sites.portal.base import site_view


def counts_from_form(data, types) -> dict:
    """{type: count} of the form's fields named after the release's process types; a count that
    is not a whole number is passed on as text, for the service to refuse with its message."""
    counts = {}
    for name in types:
        value = data.get(name, "").strip()
        if value:
            counts[name] = int(value) if value.isdigit() else value
    return counts


@site_view(POST=Action.DEPLOY)
def scale(request, site):
    counts = counts_from_form(request.POST, process_types(site.current_release))
    if not failed(attempt(request, services.scale, site, counts, by=request.user)):
        summary = ", ".join(f"{name}={count}" for name, count in counts.items())
        messages.success(request, f"Scaled {site.name}: {summary}. Containers start or stop within seconds.")
    return back(request, "sites:overview", site.name)


urlpatterns = [
    path('sites/<str:name>/formation/', scale, name='scale'),
]
