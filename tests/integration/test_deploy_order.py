"""Changes to one site queue and apply in order, none lost; a rollback restores code and config.
End to end: real git, gunicorn, Celery worker and agent, Docker, nginx (issue 10)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.support.deploying import (
    api,
    commit_all,
    create_site,
    finished_deployment,
    push,
    served,
    workdir_with,
)

pytestmark = pytest.mark.django_db(transaction=True)

INTERNAL = "An internal error stopped this deployment"


def test_six_env_changes_at_once_are_all_applied_in_order(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "sixenv")
    push(deploy_env, workdir_with(tmp_path, "python"), site)
    keys = ["K1", "K2", "K3", "K4", "K5", "GREETING"]

    def set_one(key: str):
        return api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {key: f"value-{key.lower()}"}})

    with ThreadPoolExecutor(len(keys)) as pool:
        answers = list(pool.map(set_one, keys))

    assert [a.status_code for a in answers] == [202] * len(keys), [a.text[:200] for a in answers]
    assert all(a.headers["Content-Type"].startswith("application/json") for a in answers)
    ids = sorted(a.json()["id"] for a in answers)
    done = [finished_deployment(platform, owner, site, pk, timeout=180) for pk in ids]
    assert [d["state"] for d in done] == ["succeeded"] * len(keys), [d["error"] for d in done]
    # One at a time, in the order they were made: each release is newer than the one before.
    versions = [int(d["release"].removeprefix("v")) for d in done]
    assert versions == sorted(versions) and len(set(versions)) == len(keys)
    assert api(platform, owner, "GET", f"sites/{site}/env/").json() == {key: "(set)" for key in keys}
    assert served(platform, site).text == "hello from python: value-greeting\n"  # the last release has them all


def test_two_starts_and_two_env_sets_back_to_back_both_succeed(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "twice")
    push(deploy_env, workdir_with(tmp_path, "python"), site)

    answers = [api(platform, owner, "POST", f"sites/{site}/start/") for _ in range(2)]
    answers += [api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {"GREETING": g}})
                for g in ("first", "second")]

    assert [a.status_code for a in answers] == [202] * 4, [a.text[:200] for a in answers]
    done = [finished_deployment(platform, owner, site, a.json()["id"], timeout=180) for a in answers]
    assert [d["state"] for d in done] == ["succeeded"] * 4, [d["error"] for d in done]
    assert not any(INTERNAL in d["log"] for d in done)
    assert served(platform, site).text == "hello from python: second\n"


def test_a_rollback_restores_the_config_of_its_release_and_the_next_push_keeps_it(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "rollcfg")
    assert api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {"GREETING": "one"}}).status_code == 200
    work = workdir_with(tmp_path, "python")
    push(deploy_env, work, site)  # v1 with GREETING=one
    change = api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {"GREETING": "two", "EXTRA": "x"}})
    assert finished_deployment(platform, owner, site, change.json()["id"])["state"] == "succeeded"
    assert served(platform, site).text == "hello from python: two\n"

    rollback = api(platform, owner, "POST", f"sites/{site}/rollback/", json={"release": "v1"})  # as the API shows it
    assert rollback.status_code == 202, rollback.text
    assert finished_deployment(platform, owner, site, rollback.json()["id"])["state"] == "succeeded"

    assert api(platform, owner, "GET", f"sites/{site}/env/").json() == {"GREETING": "(set)"}  # EXTRA went
    assert served(platform, site).text == "hello from python: one\n"
    commit_all_with(work, "README", "a new commit\n")
    push(deploy_env, work, site)
    assert served(platform, site).text == "hello from python: one\n"  # the push built with v1's config


def commit_all_with(work, name: str, content: str) -> None:
    (work / name).write_text(content)
    commit_all(work, "change")
