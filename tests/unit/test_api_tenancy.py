"""Tenancy at the API: for every per-site endpoint (read from the URL table), the owner succeeds on a
real object, and a member of another organization gets the 404 of a site that does not exist for
that same object, changing nothing."""
from __future__ import annotations

import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from proxy.models import Certificate, Route, VerificationToken
from sites import urls
from sites.database_models import Database
from sites.models import Deployment, Domain, EnvVar, Release, Run, ScheduledJob, Site, SiteBackup, Slug
from sites.services import set_env
from tests.archives import tar_gz
from tests.portal_data import seed_database, seed_runs
from tests.unit.test_data_backups import backed_up

pytestmark = pytest.mark.django_db

# (URL name, method, the URL's other arguments, body). "{deployment}" is the real deployment's id,
# "{run}" a real run's of the site, "nightly" its scheduled job.
ENDPOINTS = [
    ("api-site", "get", {}, None),
    ("api-site", "patch", {}, {"writable_paths": ["uploads"], "force_https": True}),
    ("api-site", "delete", {}, None),
    ("api-deployments", "get", {}, None),
    ("api-deployments", "post", {}, "archive"),
    ("api-deployment", "get", {"deployment_id": "{deployment}"}, None),
    ("api-releases", "get", {}, None),
    ("api-env", "get", {}, None),
    ("api-env", "post", {}, {"vars": {"B": "2"}}),
    ("api-env-var", "get", {"key": "A"}, None),
    ("api-env-var", "delete", {"key": "A"}, None),
    ("api-restart", "post", {}, None),
    ("api-stop", "post", {}, None),
    ("api-start", "post", {}, None),
    ("api-rollback", "post", {}, {"release": 1}),
    ("api-logs", "get", {}, None),
    ("api-domains", "get", {}, None),
    ("api-domains", "post", {}, {"hostname": "shop.example.org"}),
    ("api-domain", "get", {"hostname": "www.example.com"}, None),
    ("api-domain", "delete", {"hostname": "www.example.com"}, None),
    ("api-domain-verify", "post", {"hostname": "www.example.com"}, None),
    ("api-traffic", "get", {}, None),
    ("api-backups", "get", {}, None),
    ("api-backups", "post", {}, None),
    ("api-backup-download", "get", {"backup_id": "{backup}"}, None),
    ("api-backup-restore", "post", {"backup_id": "{backup}"}, None),
    ("api-backup-database-download", "get", {"backup_id": "{backup}", "engine": "postgresql"}, None),
    ("api-runs", "get", {}, None),
    ("api-runs", "post", {}, {"command": "echo hi", "attach": False}),
    ("api-run", "get", {"run_id": "{run}"}, None),
    ("api-jobs", "get", {}, None),
    ("api-jobs", "post", {}, {"name": "hourly", "schedule": "@hourly", "command": "echo hi"}),
    ("api-job", "get", {"job_name": "nightly"}, None),
    ("api-job", "patch", {"job_name": "nightly"}, {"schedule": "0 4 * * *"}),
    ("api-job", "delete", {"job_name": "nightly"}, None),
    ("api-databases", "get", {}, None),
    ("api-databases", "post", {}, {"engine": "postgresql"}),
    ("api-database", "get", {"engine": "postgresql"}, None),
    ("api-database", "delete", {"engine": "postgresql"}, None),
    ("api-database-rotate", "post", {"engine": "postgresql"}, None),
    ("api-database-credentials", "get", {"engine": "postgresql"}, None),
    ("api-formation", "get", {}, None),
    ("api-formation", "patch", {}, {"worker": 1}),
]
# Endpoints of an existing database: shop gets one first (attaching needs shop without one).
NEEDS_DATABASE = {"api-database", "api-database-rotate", "api-database-credentials"}
IDS = [f"{method}-{name}" for name, method, _, _ in ENDPOINTS]
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _per_site_endpoints() -> set[tuple[str, str]]:
    """(URL name, method) of every API view that takes a site's name, from the URL table itself."""
    found = set()
    for pattern in urls.api_urlpatterns:
        if "<str:name>" in str(pattern.pattern):
            view = pattern.callback.view_class
            found |= {(pattern.name, method) for method in HTTP_METHODS if hasattr(view, method)}
    return found


def _call(api: APIClient, site: str, name: str, method: str, kwargs: dict, body, ids: dict):
    url = reverse(name, kwargs={"name": site, **{k: v.format(**ids) for k, v in kwargs.items()}})
    if body == "archive":
        upload = io.BytesIO(tar_gz({"index.html": b"<h1>hello</h1>\n"}))
        upload.name = "app.tar.gz"
        return api.post(url, {"archive": upload}, format="multipart")
    return getattr(api, method)(url, body, format="json")


def _everything() -> dict:
    """Every row an API call could change, of every organization, and the edge's tables."""
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Site, Domain, EnvVar, Slug, Release, Deployment, Route, Certificate, VerificationToken,
                          Run, ScheduledJob, SiteBackup, Database)}


@pytest.fixture
def ids(world) -> dict:
    """The ids the URLs name: the deployment's, and a run of the site (with its scheduled job `nightly`)."""
    seed_runs(world["site"], 1)
    return {"deployment": world["deployment"].pk, "run": Run.objects.get(site=world["site"]).pk}


def test_the_table_covers_every_per_site_endpoint():
    # A new endpoint fails here until it is added to ENDPOINTS, and so to the tests below.
    assert {(name, method) for name, method, _, _ in ENDPOINTS} == _per_site_endpoints()


@pytest.mark.parametrize("name, method, kwargs, body", ENDPOINTS, ids=IDS)
def test_an_outsider_gets_404_on_the_real_object_and_changes_nothing(world, ids, monkeypatch, name, method, kwargs,
                                                                     body):
    if name.startswith("api-backup"):
        ids["backup"] = backed_up(world, monkeypatch).pk
    if name in NEEDS_DATABASE or (name, method) == ("api-databases", "get"):
        seed_database(world["site"])
    outsider = world["client"]("outsider")
    missing = _call(outsider, "no-such-site", name, method, kwargs, body, ids)
    before = _everything()
    refused = _call(outsider, "shop", name, method, kwargs, body, ids)
    assert refused.status_code == 404, refused.content
    assert refused.content == missing.content  # the same answer as for no site at all: nothing leaks
    assert _everything() == before
    # The control: the same call on the same object works for the owner.
    allowed = _call(world["client"]("owner"), "shop", name, method, kwargs, body, ids)
    assert 200 <= allowed.status_code < 300, allowed.content


@pytest.mark.parametrize("name, method, kwargs, body", [e for e in ENDPOINTS if e[2] and e[0] != "api-env-var"],
                         ids=[i for e, i in zip(ENDPOINTS, IDS) if e[2] and e[0] != "api-env-var"])
def test_an_outsider_cannot_reach_the_object_through_a_site_of_their_own(world, ids, monkeypatch, name, method, kwargs,
                                                                         body):
    """The deployment's id or the domain's name of acme's site, asked under globex's own site."""
    if name.startswith("api-backup"):
        ids["backup"] = backed_up(world, monkeypatch).pk
    seed_database(world["site"])
    before = _everything()
    response = _call(world["client"]("outsider"), "gshop", name, method, kwargs, body, ids)
    assert response.status_code == 404, response.content
    assert _everything() == before


def test_lists_show_only_the_members_sites(world):
    assert [s["name"] for s in world["client"]("owner").get("/api/v1/sites/").json()] == ["shop"]
    assert [s["name"] for s in world["client"]("outsider").get("/api/v1/sites/").json()] == ["gshop"]


def test_a_bad_or_missing_token_is_refused():
    client = APIClient()
    assert client.get("/api/v1/sites/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer hst_not-a-real-token")
    assert client.get("/api/v1/sites/").status_code == 401


def test_a_site_has_its_urls_and_default_domain(world):
    body = world["client"]("owner").get("/api/v1/sites/shop/").json()
    assert body["url"] == "http://shop.apps.localhost:8080/"
    assert body["git_url"] == "http://127.0.0.1:8000/git/shop.git"
    assert body["status"] == "not deployed" and body["current_release"] == "v1"
    assert body["domains"] == ["shop.apps.localhost"]  # www.example.com is not verified: not routed


def test_creating_sites_checks_names_and_the_plan(world):
    owner, outsider = world["client"]("owner"), world["client"]("outsider")
    bad = owner.post("/api/v1/sites/", {"name": "Shop;rm"}, format="json")
    assert bad.status_code == 400 and "not a valid site name" in str(bad.json())
    taken = outsider.post("/api/v1/sites/", {"name": "shop"}, format="json")
    assert taken.status_code == 400 and "taken" in str(taken.json())
    for number in range(2):
        assert owner.post("/api/v1/sites/", {"name": f"shop-{number}"}, format="json").status_code == 201
    over = owner.post("/api/v1/sites/", {"name": "shop-9"}, format="json")
    assert over.status_code == 400 and "allows 3 sites" in str(over.json())


def test_env_values_are_encrypted_at_rest_and_never_returned(world):
    set_env(world["site"], {"SECRET_TOKEN": "s3cr3t-value"})
    stored = EnvVar.objects.get(site=world["site"], key="SECRET_TOKEN").encrypted_value
    assert "s3cr3t" not in stored
    assert world["client"]("owner").get("/api/v1/sites/shop/env/").json() == {"A": "(set)", "SECRET_TOKEN": "(set)"}
    bad = world["client"]("owner").post("/api/v1/sites/shop/env/", {"vars": {"PORT": "1"}}, format="json")
    assert bad.status_code == 400 and "set by the platform" in str(bad.json())
