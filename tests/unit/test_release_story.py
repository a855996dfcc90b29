"""Releases tell their story in the API: status (current, succeeded, failed, pending), the commit,
what made each and who; a failed release cannot be rolled back to; deployments name who asked."""
from __future__ import annotations

import pytest

from accounts.services import get_or_create_user
from sites.config_crypto import encrypt
from sites.models import Deployment, Release, Slug

pytestmark = pytest.mark.django_db


def release_with(site, version: int, state: str, trigger: str, by=None, source: str = "abc123 (main)") -> Release:
    slug = Slug.objects.create(site=site, sha256=f"{version}" * 64, size_bytes=1, runtime="static", source=source)
    release = Release.objects.create(site=site, version=version, slug=slug, encrypted_config=encrypt("{}"),
                                     description=f"Deploy {version}")
    Deployment.objects.create(site=site, trigger=trigger, release=release, state=state, created_by=by)
    return release


def test_each_release_says_whether_it_went_live_what_made_it_and_who(world):
    site, developer = world["site"], get_or_create_user("developer@example.com")
    release_with(site, 2, "failed", "push", by=developer, source="f00dfeed0000 (main)")
    release_with(site, 3, "releasing", "config")

    body = world["client"]("viewer").get("/api/v1/sites/shop/releases/").json()

    story = {r["label"]: (r["status"], r["trigger"], r["created_by"], r["commit"]) for r in body}
    assert story["v3"] == ("pending", "config", None, "abc123 (main)")
    assert story["v2"] == ("failed", "push", "developer@example.com", "f00dfeed0000 (main)")
    assert story["v1"][0] == "current"
    assert [r["version"] for r in body] == [3, 2, 1]  # the version stays a number, as before


def test_a_release_that_never_went_live_cannot_be_rolled_back_to(world):
    release_with(world["site"], 2, "failed", "push")

    refused = world["client"]("owner").post("/api/v1/sites/shop/rollback/", {"release": "v2"}, format="json")

    assert refused.status_code == 400 and "never went live" in refused.content.decode()
    assert not Deployment.objects.filter(trigger="rollback").exists()


def test_a_deployment_names_the_member_who_asked_for_it(world):
    response = world["client"]("developer").post("/api/v1/sites/shop/env/", {"vars": {"B": "2"}}, format="json")

    assert response.status_code == 202, response.content
    assert response.json()["created_by"] == "developer@example.com"
    assert Deployment.objects.get(pk=response.json()["id"]).created_by.email == "developer@example.com"
