"""Site pages: deployments (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


deployments = site_view(GET=Action.READ, POST=Action.READ)(placeholder('deployments'))

deployment = site_view(GET=Action.READ)(placeholder('deployments'))

deployment_log = site_view(GET=Action.READ)(placeholder('deployments'))

rollback = site_view(POST=Action.READ)(placeholder('deployments'))


urlpatterns = [
    path('sites/<str:name>/deployments/', deployments, name='deployments'),
    path('sites/<str:name>/deployments/<int:deployment_id>/', deployment, name='deployment'),
    path('sites/<str:name>/deployments/<int:deployment_id>/log/', deployment_log, name='deployment-log'),
    path('sites/<str:name>/rollback/', rollback, name='rollback'),
]
