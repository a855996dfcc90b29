"""Every API endpoint: an outsider gets 404, a viewer may read but gets 403 on changes."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import (
    add_member,
    create_organization,
    get_or_create_user,
    issue_token,
)
from sites.services import create_site

pytestmark = pytest.mark.django_db

READS = ["", "deployments/", "deployments/1/", "releases/", "env/", "logs/"]
WRITES = [("patch", "", {"writable_paths": ["x"]}), ("delete", "", None), ("post", "deployments/", {}),
          ("post", "env/", {"vars": {"A": "1"}}), ("delete", "env/A/", None), ("post", "restart/", None),
          ("post", "stop/", None), ("post", "start/", None), ("post", "rollback/", {"release": 1})]


@pytest.fixture
def people():
    org = create_organization("acme", "owner@example.com")
    create_organization("globex", "outsider@example.com")
    add_member(org, "viewer@example.com", "viewer")
    site = create_site(org, "shop")

    def client_for(email):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(get_or_create_user(email))}")
        return client

    return site, {who: client_for(f"{who}@example.com") for who in ("owner", "viewer", "outsider")}


@pytest.mark.parametrize("path", READS)
def test_an_outsider_gets_404_on_every_read(people, path):
    _, clients = people
    assert clients["outsider"].get(f"/api/v1/sites/shop/{path}").status_code == 404


@pytest.mark.parametrize("method, path, body", WRITES)
def test_an_outsider_gets_404_and_a_viewer_403_on_every_change(people, method, path, body):
    _, clients = people
    url = f"/api/v1/sites/shop/{path}"
    assert getattr(clients["outsider"], method)(url, body, format="json").status_code == 404
    assert getattr(clients["viewer"], method)(url, body, format="json").status_code == 403


def test_lists_show_only_the_members_sites(people):
    _, clients = people
    assert [s["name"] for s in clients["owner"].get("/api/v1/sites/").json()] == ["shop"]
    assert clients["outsider"].get("/api/v1/sites/").json() == []


def test_a_bad_or_missing_token_is_refused():
    client = APIClient()
    assert client.get("/api/v1/sites/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer hst_not-a-real-token")
    assert client.get("/api/v1/sites/").status_code == 401


def test_a_site_has_its_urls_and_default_domain(people):
    _, clients = people
    body = clients["owner"].get("/api/v1/sites/shop/").json()
    assert body["url"] == "http://shop.apps.localhost:8080/"
    assert body["git_url"] == "http://127.0.0.1:8000/git/shop.git"
    assert body["status"] == "not deployed" and body["current_release"] is None
    assert body["domains"] == ["shop.apps.localhost"]


def test_creating_sites_checks_names_and_the_plan(people):
    _, clients = people
    bad = clients["owner"].post("/api/v1/sites/", {"name": "Shop;rm"}, format="json")
    assert bad.status_code == 400 and "not a valid site name" in str(bad.json())
    taken = clients["outsider"].post("/api/v1/sites/", {"name": "shop"}, format="json")
    assert taken.status_code == 400 and "taken" in str(taken.json())
    for number in range(2):
        assert clients["owner"].post("/api/v1/sites/", {"name": f"shop-{number}"}, format="json").status_code == 201
    over = clients["owner"].post("/api/v1/sites/", {"name": "shop-9"}, format="json")
    assert over.status_code == 400 and "allows 3 sites" in str(over.json())


def test_env_values_are_encrypted_at_rest_and_never_returned(people):
    from sites.models import EnvVar
    from sites.services import set_env

    site, clients = people
    set_env(site, {"SECRET_TOKEN": "s3cr3t-value"})
    stored = EnvVar.objects.get(site=site, key="SECRET_TOKEN").encrypted_value
    assert "s3cr3t" not in stored
    assert clients["owner"].get("/api/v1/sites/shop/env/").json() == {"SECRET_TOKEN": "(set)"}
    bad = clients["owner"].post("/api/v1/sites/shop/env/", {"vars": {"PORT": "1"}}, format="json")
    assert bad.status_code == 400 and "set by the platform" in str(bad.json())
