"""Site pages: site list (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


@member_view(GET=Action.READ)
def list(request):
    return render(request, 'portal/placeholder.html', {'heading': 'list'})

@member_view(GET=Action.READ, POST=Action.READ)
def create(request):
    return render(request, 'portal/placeholder.html', {'heading': 'create'})

@member_view(GET=Action.READ)
def check_name(request):
    return render(request, 'portal/placeholder.html', {'heading': 'check-name'})


urlpatterns = [
    path('', list, name='list'),
    path('sites/new/', create, name='create'),
    path('sites/check-name/', check_name, name='check-name'),
]
