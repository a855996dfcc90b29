"""Site pages: config (being built: stubs keep the URLs resolving)."""
from __future__ import annotations

from django.urls import path

from accounts.roles import Action
from sites.portal.base import member_view, site_view
from sites.portal.pages import placeholder
from django.shortcuts import render


env = site_view(GET=Action.READ, POST=Action.READ)(placeholder('env'))

env_reveal = site_view(POST=Action.READ)(placeholder('env'))

env_delete = site_view(POST=Action.READ)(placeholder('env'))

settings = site_view(GET=Action.READ, POST=Action.READ)(placeholder('settings'))


urlpatterns = [
    path('sites/<str:name>/env/', env, name='env'),
    path('sites/<str:name>/env/<str:key>/reveal/', env_reveal, name='env-reveal'),
    path('sites/<str:name>/env/<str:key>/delete/', env_delete, name='env-delete'),
    path('sites/<str:name>/settings/', settings, name='settings'),
]
