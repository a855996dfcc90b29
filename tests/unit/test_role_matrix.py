"""Every API endpoint for every role: what the role matrix (accounts.roles) allows succeeds, what it
does not is 403, and an outsider gets 404 everywhere. Then suspension, which refuses every change."""
from __future__ import annotations

import io

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.roles import MATRIX, Action
from sites.models import Deployment, Domain, EnvVar, Site, SiteBackup
from sites.services import suspend_organization
from tests.archives import tar_gz
from tests.unit.test_data_backups import backed_up
from tests.unit.test_pipeline_machine import write_source

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "viewer", "outsider"]
MANAGERS, DEPLOYERS, EVERYONE = {"owner", "admin"}, {"owner", "admin", "developer"}, {"owner", "admin", "developer", "viewer"}
# The README's table, written out independently of accounts.roles: the code must match it.
DOCUMENTED = {
    Action.READ: EVERYONE, Action.READ_LOGS: EVERYONE,
    Action.DEPLOY: DEPLOYERS, Action.CONFIGURE: DEPLOYERS, Action.OPERATE: DEPLOYERS,
    Action.CREATE_SITE: MANAGERS, Action.DELETE_SITE: MANAGERS, Action.MANAGE_DOMAINS: MANAGERS,
    Action.MANAGE_HTTPS: MANAGERS, Action.REVEAL_ENV: DEPLOYERS, Action.MANAGE_TEAM: MANAGERS,
    Action.READ_AUDIT: MANAGERS, Action.MANAGE_BACKUPS: MANAGERS,
}


def _archive() -> bytes:
    return tar_gz({"index.html": b"<h1>hello</h1>\n"})


# (method, path under /api/v1/sites/shop/, body, the action the matrix is asked about)
ENDPOINTS = [
    ("get", "", None, Action.READ),
    ("patch", "", {"writable_paths": ["uploads"]}, Action.CONFIGURE),
    ("patch", "", {"health_check_path": "/healthz"}, Action.CONFIGURE),
    ("patch", "", {"force_https": True}, Action.MANAGE_HTTPS),
    ("patch", "", {"hsts": True}, Action.MANAGE_HTTPS),
    ("delete", "", None, Action.DELETE_SITE),
    ("get", "deployments/", None, Action.READ),
    ("post", "deployments/", "archive", Action.DEPLOY),
    ("get", "deployments/{deployment}/", None, Action.READ),
    ("get", "releases/", None, Action.READ),
    ("get", "env/", None, Action.READ),
    ("post", "env/", {"vars": {"B": "2"}}, Action.CONFIGURE),
    ("get", "env/A/", None, Action.REVEAL_ENV),
    ("delete", "env/A/", None, Action.CONFIGURE),
    ("post", "restart/", None, Action.OPERATE),
    ("post", "stop/", None, Action.OPERATE),
    ("post", "start/", None, Action.OPERATE),
    ("post", "rollback/", {"release": 1}, Action.OPERATE),
    ("get", "logs/", None, Action.READ_LOGS),
    ("get", "traffic/", None, Action.READ),
    ("get", "formation/", None, Action.READ),
    ("patch", "formation/", {"worker": 1}, Action.DEPLOY),  # who may deploy may scale
    ("get", "domains/", None, Action.READ),
    ("post", "domains/", {"hostname": "shop.example.org"}, Action.MANAGE_DOMAINS),
    ("get", "domains/www.example.com/", None, Action.READ),
    ("delete", "domains/www.example.com/", None, Action.MANAGE_DOMAINS),
    ("post", "domains/www.example.com/verify/", None, Action.MANAGE_DOMAINS),
    ("get", "backups/", None, Action.READ),
    ("post", "backups/", None, Action.MANAGE_BACKUPS),
    ("get", "backups/{backup}/download/", None, Action.MANAGE_BACKUPS),
    ("get", "backups/{backup}/download/postgresql/", None, Action.MANAGE_BACKUPS),
    ("post", "backups/{backup}/restore/", None, Action.MANAGE_BACKUPS),
    ("get", "runs/", None, Action.READ),
    ("post", "runs/", {"command": "echo hi", "attach": False}, Action.DEPLOY),  # who may deploy may run
    ("get", "jobs/", None, Action.READ),
    ("post", "jobs/", {"name": "hourly", "schedule": "@hourly", "command": "echo hi"}, Action.DEPLOY),
]


def _call(api: APIClient, method: str, path: str, body, deployment_id: int):
    backup_id = SiteBackup.objects.values_list("pk", flat=True).first() or 0
    url = "/api/v1/sites/shop/" + path.format(deployment=deployment_id, backup=backup_id)
    if body == "archive":
        upload = io.BytesIO(_archive())
        upload.name = "app.tar.gz"
        return api.post(url, {"archive": upload}, format="multipart")
    return getattr(api, method)(url, body, format="json")


def test_the_matrix_is_what_the_readme_says():
    assert {action: {Role(r).value for r in roles} for action, roles in MATRIX.items()} == DOCUMENTED


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, body, action", ENDPOINTS,
                         ids=[f"{m}-{p or 'site'}-{a.value}" for m, p, _, a in ENDPOINTS])
def test_it_answers_each_role_as_the_matrix_says(world, monkeypatch, role, method, path, body, action):
    if path.startswith("backups/"):
        backed_up(world, monkeypatch)
    response = _call(world["client"](role), method, path, body, world["deployment"].pk)
    if role == "outsider":
        assert response.status_code == 404, response.content
    elif role in DOCUMENTED[action]:
        assert 200 <= response.status_code < 300, response.content
    else:
        assert response.status_code == 403, response.content
        assert f"({role}) may not" in response.json()["detail"]


@pytest.mark.parametrize("role", ROLES)
def test_creating_a_site_is_for_owners_and_admins(world, role):
    response = world["client"](role).post("/api/v1/sites/", {"name": "new-site", "organization": "acme"}, format="json")
    expected = {"owner": 201, "admin": 201, "developer": 403, "viewer": 403, "outsider": 404}[role]
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("role", ROLES)
def test_the_site_list_shows_members_their_sites_only(world, role):
    names = [s["name"] for s in world["client"](role).get("/api/v1/sites/").json()]
    assert names == (["gshop"] if role == "outsider" else ["shop"])


# --- suspension ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, action", ENDPOINTS,
                         ids=[f"{m}-{p or 'site'}-{a.value}" for m, p, _, a in ENDPOINTS])
def test_a_suspended_organization_may_read_but_change_nothing(world, method, path, body, action):
    suspend_organization(world["org"], "unpaid invoice 42")
    before = (Deployment.objects.count(), EnvVar.objects.count(), Domain.objects.count(), Site.objects.count())
    response = _call(world["client"]("owner"), method, path, body, world["deployment"].pk)
    if action in (Action.READ, Action.READ_LOGS, Action.REVEAL_ENV):  # reading a value changes nothing
        assert response.status_code == 200
    else:
        assert response.status_code == 403, response.content
        assert "suspended (unpaid invoice 42)" in response.json()["detail"]
        assert (Deployment.objects.count(), EnvVar.objects.count(), Domain.objects.count(),
                Site.objects.count()) == before


def test_a_suspended_organization_cannot_create_a_site(world):
    suspend_organization(world["org"], "abuse")
    response = world["client"]("owner").post("/api/v1/sites/", {"name": "new-site"}, format="json")
    assert response.status_code == 403 and "suspended" in response.json()["detail"]
    assert not Site.objects.filter(name="new-site").exists()


def test_the_deploy_pipeline_refuses_a_suspended_organization_too(world):
    """Whatever calls it (a hook, healing, a future view): the pipeline checks again."""
    from django.core.exceptions import PermissionDenied

    from sites import services

    suspend_organization(world["org"], "abuse")
    site = Site.objects.get(name="shop")
    with pytest.raises(PermissionDenied, match="suspended"):
        services.restart(site)
    with pytest.raises(PermissionDenied, match="suspended"):
        services.deploy_source(site, "push", "abc", write_source)


def test_suspension_is_recorded_with_its_reason_and_time(world):
    suspend_organization(world["org"], "  unpaid  ")
    world["org"].refresh_from_db()
    assert world["org"].suspended and world["org"].suspended_reason == "unpaid"
    assert timezone.now() - world["org"].suspended_at < timedelta(seconds=5)
    assert world["client"]("viewer").get("/api/v1/sites/shop/").json()["status"] == "suspended"
