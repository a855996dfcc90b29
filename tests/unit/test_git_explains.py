"""What a real `git` client shows when a push goes wrong (issue 15): git prints the text/plain
body of some HTTP errors as `remote: ...`, so the platform's sentence must reach it there."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from accounts.models import Plan
from accounts.services import create_organization, get_or_create_user, issue_token
from sites.services import create_site

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token():
    # live_server needs committed rows (transaction=True), whose flush takes the migrations' plans too.
    plan = Plan.objects.create(name="small", label="Small", memory_mb=128, cpu_millicores=100, pids_limit=64,
                               disk_mb=64, max_sites=3, max_custom_domains=1, max_push_mb=100,
                               build_timeout_seconds=60, is_default=True)
    acme = create_organization("acme", "owner@example.com", plan=plan)
    create_site(acme, "shop")
    create_site(acme, "blog")
    create_site(create_organization("globex", "other@example.com", plan=plan), "secret")
    return issue_token(get_or_create_user("owner@example.com"))


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(cwd), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def a_repository(tmp_path: Path, files: dict[str, bytes]) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    for name, content in files.items():
        (work / name).write_bytes(content)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    return work


def remote(live_server, token: str, site: str) -> str:
    return live_server.url.replace("http://", f"http://user:{token}@") + f"/git/{site}.git"


def test_it_tells_git_the_site_does_not_exist_and_names_only_the_tokens_sites(live_server, token, tmp_path):
    work = a_repository(tmp_path, {"index.html": b"hello\n"})

    for missing in ("nosuch", "secret"):  # absent, and another organization's: the same answer
        result = git("push", remote(live_server, token, missing), "main", cwd=work)
        assert result.returncode != 0
        assert f"remote: No site '{missing}' among your sites; yours: blog, shop." in result.stderr, result.stderr
        assert f"hosting sites create {missing}" in result.stderr and "globex" not in result.stderr

    # A bad token still learns nothing.
    result = git("push", remote(live_server, "hst_wrong", "nosuch"), "main", cwd=work)
    assert result.returncode != 0 and "No site" not in result.stderr and "Authentication failed" in result.stderr



def test_a_push_over_the_plan_is_told_the_plans_limit(live_server, token, tmp_path):
    Plan.objects.update(max_push_mb=1)
    work = a_repository(tmp_path, {"big.bin": os.urandom(int(1.5 * 2**20))})
    # A large postBuffer: git sends a Content-Length (the test server undoes no chunking); the
    # chunked pushes of a default git go through git's own limit and PushReply (below).
    result = git("-c", "http.postBuffer=20000000", "push", remote(live_server, token, "shop"), "main", cwd=work)

    assert result.returncode != 0
    assert (f"remote: This push is larger than your plan allows: 1 MB per push is the limit of the Small plan."
            in result.stderr), result.stderr
    assert "! [remote rejected] main -> main (over the plan's 1 MB push limit)" in result.stderr
