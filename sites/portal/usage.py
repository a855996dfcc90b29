"""Site pages: usage (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


@member_view(GET=Action.READ)
def usage(request):
    return render(request, 'portal/placeholder.html', {'heading': 'usage'})


urlpatterns = [
    path('usage/', usage, name='usage'),
]
