"""Rendering a site tab: the site, the tab's name for the navigation, and the page's own context."""
from __future__ import annotations

from django.shortcuts import render

from sites.models import Site


def render_tab(request, site: Site, tab: str, template: str, status: int = 200, **context):
    return render(request, template, {"site": site, "tab": tab, "nav": "sites", **context}, status=status)


def placeholder(tab: str):
    """A tab whose page is still being built (replaced before the issue closes)."""
    # Stub views take any method so the foundation's URLs resolve while the pages are written.

    def view(request, site: Site, *args, **kwargs):
        return render_tab(request, site, tab, "sites/placeholder.html")

    return view
