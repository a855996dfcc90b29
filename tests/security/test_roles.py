"""Attack: members with too small a role, and outsiders, try what their role does not allow through
the running platform (git push, deleting a site, HSTS, domains). The whole matrix, endpoint by
endpoint, is tests/unit/test_role_matrix.py; this checks the real git and API stack."""
from __future__ import annotations

import pytest

from tests.integration.support.deploying import api, create_site, git, push, push_url, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)


def _refs(deploy_env, site: str, tmp_path) -> str:
    platform, customers, _ = deploy_env
    return git("ls-remote", push_url(platform, customers["owner"], site), cwd=tmp_path).stdout


def test_a_viewer_cannot_push_and_an_outsider_cannot_see_the_repository(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "roles")
    work = workdir_with(tmp_path, None, {"public/index.html": "viewer was here\n"})

    viewer = push(deploy_env, work, site, customer="viewer", check=False)
    assert viewer.returncode != 0 and "(viewer) may not deploy" in viewer.stderr, viewer.stderr
    outsider = push(deploy_env, work, site, customer="outsider", check=False)
    # Told the site is not among theirs, with their own sites only: the same as for no site at all.
    assert outsider.returncode != 0 and f"No site '{site}' among your sites" in outsider.stderr, outsider.stderr
    clone = git("clone", push_url(platform, customers["outsider"], site), "stolen", cwd=tmp_path, check=False)
    assert clone.returncode != 0 and not (tmp_path / "stolen" / "public").exists()
    assert _refs(deploy_env, site, tmp_path).strip() == ""  # nothing was stored

    # The viewer may read: a clone of an empty repository works.
    assert git("ls-remote", push_url(platform, customers["viewer"], site), cwd=tmp_path).returncode == 0


def test_a_developer_deploys_but_cannot_delete_domains_or_hsts(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    developer = customers["developer"]
    site = create_site(deploy_env, "devrole")

    refused = {
        "delete the site": ("DELETE", f"sites/{site}/", {}),
        "turn on HSTS": ("PATCH", f"sites/{site}/", {"json": {"hsts": True}}),
        "add a domain": ("POST", f"sites/{site}/domains/", {"json": {"hostname": f"{site}.example.org"}}),
        "create a site": ("POST", "sites/", {"json": {"name": f"{site}-2", "organization": developer.organization}}),
    }
    for what, (method, path, kwargs) in refused.items():
        response = api(platform, developer, method, path, **kwargs)
        assert response.status_code == 403 and "(developer) may not" in response.text, f"{what}: {response.text}"
    body = api(platform, developer, "GET", f"sites/{site}/").json()
    assert body["hsts"] is False and body["domains"] == [f"{site}.apps.localhost"]

    work = workdir_with(tmp_path, None, {"public/index.html": "from a developer\n"})
    assert "is live at" in push(deploy_env, work, site, customer="developer").stderr
