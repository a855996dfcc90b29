"""Site pages: overview (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


overview = site_view(GET=Action.READ)(placeholder('overview'))

restart = site_view(POST=Action.READ)(placeholder('overview'))

stop = site_view(POST=Action.READ)(placeholder('overview'))

start = site_view(POST=Action.READ)(placeholder('overview'))

delete = site_view(GET=Action.READ, POST=Action.READ)(placeholder('settings'))


urlpatterns = [
    path('sites/<str:name>/', overview, name='overview'),
    path('sites/<str:name>/restart/', restart, name='restart'),
    path('sites/<str:name>/stop/', stop, name='stop'),
    path('sites/<str:name>/start/', start, name='start'),
    path('sites/<str:name>/delete/', delete, name='delete'),
]
