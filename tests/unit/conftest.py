"""The unit tier needs no network and writes nothing into the checkout: the platform's state paths go
to a temporary directory, and Redis is an in-memory fake behind our own interface
(core.redis_client.redis_client). A test that needs Redis gone sets `fake_redis.down`. Connections
beyond the machine, and to the shared Redis and Docker daemon, are refused, so a test that would
need them fails here rather than in a checkout without them."""
from __future__ import annotations

import importlib.util
import ipaddress
import os
import socket
import sys
from pathlib import Path

import pytest

from django.conf import settings as django_settings

import config.urls  # noqa: F401 (every view's module is loaded, so the fake reaches every copy of redis_client)
from core import redis_client as redis_client_module
from tests.unit.fake_redis import FakeRedis
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import add_member, create_organization, get_or_create_user, issue_token
from hosting.models import Host
from sites import domains
from sites.config_crypto import encrypt
from sites.pipeline.machine import create_release
from sites.models import Deployment, Domain, EnvVar, Site, Slug
from sites.services import create_site

OUR_PACKAGES = ("accounts", "backups", "config", "core", "hosting", "proxy", "sites", "staff", "support")
STATE_PATHS = ("VOLUMES_DIR", "SLUGS_DIR", "GIT_ROOT", "ARCHIVES_DIR", "CERTS_DIR", "ACME_WEBROOT", "EDGE_DIR",
               "BACKUP_DIR", "STATIC_ROOT", "MANAGED_REDIS_SOCKET", "SUPPORT_DIR")
REAL_REDIS_CLIENT = redis_client_module.redis_client
REAL_CONNECT = socket.socket.connect
SHARED_SOCKETS = {"/var/run/docker.sock", "/run/docker.sock",
                  redis_client_module.redis_py_url(django_settings.REDIS_URL).removeprefix("unix://")}

for _package in OUR_PACKAGES:  # and every task module (Celery loads them only when a worker starts)
    if importlib.util.find_spec(f"{_package}.tasks"):
        importlib.import_module(f"{_package}.tasks")


@pytest.fixture(autouse=True)
def state_in_a_temporary_directory(settings, tmp_path_factory) -> Path:
    """DATA_DIR and every path under it, per test, away from the checkout's ./var."""
    data_dir = tmp_path_factory.mktemp("data")
    original = Path(settings.DATA_DIR)
    for name in STATE_PATHS:
        path = Path(getattr(settings, name))
        setattr(settings, name, data_dir / (path.relative_to(original) if path.is_relative_to(original) else name.lower()))
    settings.CELERY_BEAT_SCHEDULE_FILENAME = str(data_dir / "celerybeat-schedule")
    settings.DATA_DIR = data_dir
    return data_dir


@pytest.fixture(autouse=True)
def fake_redis(monkeypatch) -> FakeRedis:
    """Every module of ours that took `redis_client` gets the fake's (an import copies the name)."""
    fake = FakeRedis()

    def client(url: str, timeout: float = 2.0) -> FakeRedis:
        return fake

    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in OUR_PACKAGES and getattr(module, "redis_client", None) is REAL_REDIS_CLIENT:
            monkeypatch.setattr(module, "redis_client", client)
    return fake


def _reaches_outside(address) -> bool:
    if isinstance(address, (str, bytes)):  # a unix socket: local, unless it is a shared service's
        return os.fsdecode(address) in SHARED_SOCKETS
    try:
        return not ipaddress.ip_address(address[0]).is_loopback
    except ValueError:  # a name: resolving it is already the network
        return address[0] != "localhost"


@pytest.fixture(autouse=True)
def no_network(monkeypatch) -> None:
    """Loopback and a test's own unix sockets only (the database is reached by libpq, not through here)."""
    def connect(sock: socket.socket, address) -> None:
        if _reaches_outside(address):
            raise ConnectionRefusedError(f"the unit tier has no network: refused a connection to {address!r}")
        return REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


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
    slug = Slug.objects.create(site=site, sha256="a" * 64, size_bytes=1, runtime="static", source="x",
                               processes={"worker": "sh worker.sh"})
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
