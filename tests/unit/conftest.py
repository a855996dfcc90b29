"""Shared set-up of the unit tier's API tests: an organization with every role and a deployed site."""
from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import add_member, create_organization, get_or_create_user, issue_token
from hosting.models import Host
from sites import domains
from sites.config_crypto import encrypt
from sites.deploys import create_release
from sites.models import Deployment, Domain, EnvVar, Site, Slug
from sites.services import create_site


@pytest.fixture
def world(settings, tmp_path, monkeypatch):
    """acme (owner, admin, developer, viewer) with a deployed site `shop`: release v1, a succeeded
    deployment, env var A and the unverified custom domain www.example.com. globex's owner is the
    outsider, with a site `gshop` of its own."""
    settings.ARCHIVES_DIR = tmp_path / "archives"
    monkeypatch.setattr(domains, "_txt_matches", lambda domain: True)  # DNS is not what these tests are about
    Host.objects.create(name="h1", cpus=4, memory_mb=16000, last_heartbeat=timezone.now())
    org = create_organization("acme", "owner@example.com")
    globex = create_organization("globex", "outsider@example.com")
    for role in ("admin", "developer", "viewer"):
        add_member(org, f"{role}@example.com", role)
    site = create_site(org, "shop")
    create_site(globex, "gshop")
    slug = Slug.objects.create(site=site, sha256="a" * 64, size_bytes=1, runtime="static", source="x")
    release = create_release(site, slug, encrypt("{}"), "Deploy")
    Site.objects.filter(pk=site.pk).update(current_release=release)
    deployment = Deployment.objects.create(site=site, trigger="push", release=release, state="succeeded")
    EnvVar.objects.create(site=site, key="A", encrypted_value=encrypt("1"))
    Domain.objects.create(site=site, hostname="www.example.com", verification_token="t")

    def client(who: str) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(get_or_create_user(f'{who}@example.com'))}")
        return api

    return {"org": org, "site": site, "deployment": deployment, "client": client}
