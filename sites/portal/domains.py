"""Site pages: domains (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


domains = site_view(GET=Action.READ, POST=Action.READ)(placeholder('domains'))

domain_verify = site_view(POST=Action.READ)(placeholder('domains'))

domain_delete = site_view(POST=Action.READ)(placeholder('domains'))


urlpatterns = [
    path('sites/<str:name>/domains/', domains, name='domains'),
    path('sites/<str:name>/domains/<str:hostname>/verify/', domain_verify, name='domain-verify'),
    path('sites/<str:name>/domains/<str:hostname>/delete/', domain_delete, name='domain-delete'),
]
