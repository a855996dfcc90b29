"""Site pages: logs (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


logs = site_view(GET=Action.READ)(placeholder('logs'))

logs_tail = site_view(GET=Action.READ)(placeholder('logs'))


urlpatterns = [
    path('sites/<str:name>/logs/', logs, name='logs'),
    path('sites/<str:name>/logs/tail/', logs_tail, name='logs-tail'),
]
