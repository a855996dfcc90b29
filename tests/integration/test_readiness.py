"""Readiness means healthy, at the running platform: an app answering 500 never goes live, an app
listening on another port than $PORT is told so at once, and a site's health check path decides."""
from __future__ import annotations

import pytest

from tests.integration.support.deploying import api, commit_all, create_site, git, push, served, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)

# Routes every request to index.php (PHP's own server with a router script): 200 on /healthz only.
HEALTHZ_ONLY = "<?php if ($_SERVER['REQUEST_URI'] === '/healthz') { echo 'ok'; exit; } " \
               "http_response_code(500); echo 'broken front page';\n"


def last_deployment(deploy_env, site: str) -> dict:
    platform, customers, _ = deploy_env
    return api(platform, customers["owner"], "GET", f"sites/{site}/deployments/").json()[0]


def push_php_over_a_live_release(deploy_env, tmp_path, site: str, files: dict[str, str]):
    """Push a static "old release", then a PHP app of `files` in its place; returns the second push."""
    work = workdir_with(tmp_path, None, {"public/index.html": "old release\n"})
    push(deploy_env, work, site)
    git("rm", "-q", "-r", "public", cwd=work)
    for name, text in files.items():
        (work / name).write_text(text)
    commit_all(work, "the PHP app")
    return push(deploy_env, work, site, check=False)


def test_an_app_answering_500_does_not_go_live(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "parse")

    # A parse error: Apache with mod_php answers HTTP 500.
    result = push_php_over_a_live_release(deploy_env, tmp_path, site, {
        "index.php": "<?php\necho 'a missing semicolon'\necho 'here';\n"})

    assert result.returncode != 0
    assert "answered HTTP 500 on /" in result.stderr, result.stderr
    assert served(platform, site).text == "old release\n"
    deployment = last_deployment(deploy_env, site)
    assert deployment["state"] == "failed" and "answered HTTP 500" in deployment["error"]


def test_an_app_on_another_port_fails_at_once_saying_so(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "port")

    result = push_php_over_a_live_release(deploy_env, tmp_path, site, {
        "index.php": "<?php echo 'hello';\n", "Procfile": "web: php -S 0.0.0.0:3000 index.php\n"})

    assert result.returncode != 0
    assert "listens on port 3000, but $PORT is 5000" in result.stderr, result.stderr
    assert "Its log mentions port 3000" in result.stderr
    assert served(platform, site).text == "old release\n"
    # Said by the check of the process's sockets, before START_TIMEOUT ends (which would say "did not answer";
    # tests/unit/test_readiness.py measures how soon).
    assert "did not answer" not in result.stderr


def test_a_health_check_path_decides_when_a_release_goes_live(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "checks")
    work = workdir_with(tmp_path, None, {"index.php": HEALTHZ_ONLY, "Procfile": "web: php -S 0.0.0.0:$PORT index.php\n"})
    failed = push(deploy_env, work, site, check=False)
    assert failed.returncode != 0 and "answered HTTP 500 on /" in failed.stderr

    bad = api(platform, customers["owner"], "PATCH", f"sites/{site}/", json={"health_check_path": "healthz"})
    assert bad.status_code == 400 and "starts with '/'" in bad.text
    ok = api(platform, customers["owner"], "PATCH", f"sites/{site}/", json={"health_check_path": "/healthz"})
    assert ok.status_code == 200 and ok.json()["health_check_path"] == "/healthz"
    (work / "README").write_text("again\n")
    commit_all(work, "deploy again")

    result = push(deploy_env, work, site)

    assert "is live at" in result.stderr and "waiting until /healthz answers" in result.stderr
    assert served(platform, site, "/healthz").text == "ok"


def test_hosting_toml_declares_the_health_check_path(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "tomlcheck")
    work = workdir_with(tmp_path, None, {"index.php": HEALTHZ_ONLY, "Procfile": "web: php -S 0.0.0.0:$PORT index.php\n",
                                         "hosting.toml": 'health_check_path = "/healthz"\n'})

    result = push(deploy_env, work, site)

    assert "waiting until /healthz answers" in result.stderr
    assert served(platform, site, "/healthz").text == "ok" and served(platform, site).status_code == 500
