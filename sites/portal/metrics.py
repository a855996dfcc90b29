"""Site pages: metrics (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


metrics = site_view(GET=Action.READ)(placeholder('metrics'))


urlpatterns = [
    path('sites/<str:name>/metrics/', metrics, name='metrics'),
]
