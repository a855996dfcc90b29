"""The customers' CLI, installed (`.venv/bin/hosting`, from ./cli) and run as a subprocess against
the running platform, as a customer would: log in, create a site in the app's repository, a plain
`git push` whose remote carries no token (the CLI is git's credential helper), the build's log,
config, rollback, followed logs, delete; --json parsed; a wrong token and an unknown site get clear
messages and their exit codes. Real git, Celery, Docker and nginx."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.support.deploying import served, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)

HOSTING = Path(sys.executable).parent / "hosting"


@pytest.fixture
def customer_env(tmp_path) -> dict[str, str]:
    """A customer's shell: their own HOME (so git's global config is theirs, not this machine's)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTING_", "GIT_"))}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com"})
    return env


def test_a_customer_deploys_and_runs_a_site_with_the_cli_alone(deploy_env, tmp_path, customer_env):
    platform, customers, created = deploy_env
    token = customers["owner"].token
    work = workdir_with(tmp_path, "python")

    def hosting(*args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(HOSTING), *args], cwd=work, env=customer_env, input=stdin, capture_output=True,
                                text=True, timeout=600)
        if check:
            assert result.returncode == 0, f"hosting {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=work, env=customer_env, capture_output=True, text=True, timeout=900)

    # A wrong token: a clear message, exit 3, nothing stored.
    refused = hosting("login", platform.portal, "--token-stdin", stdin="hst_not-a-token\n", check=False)
    assert refused.returncode == 3 and "refused your token" in refused.stderr
    login = json.loads(hosting("login", platform.portal, "--token-stdin", "--json", stdin=token + "\n").stdout)
    assert login["organizations"][0]["slug"] == customers["owner"].organization

    name = f"cli-{time.monotonic_ns() % 10**6}"
    created.append(name)
    site = json.loads(hosting("sites", "create", name, "--json").stdout)
    assert site["name"] == name and site["git_url"] == f"{platform.portal}/git/{name}.git"
    # The remote the CLI added carries no token, nor does any git config; the push needs none.
    assert git("remote", "get-url", "hosting").stdout.strip() == site["git_url"]
    assert token not in (work / ".git" / "config").read_text()
    global_config = (Path(customer_env["HOME"]) / ".gitconfig").read_text()
    assert "git-credential" in global_config and token not in global_config
    pushed = git("push", "hosting", "HEAD:main")
    assert pushed.returncode == 0, pushed.stderr
    assert "is live at http://" in pushed.stderr  # the build's log, streamed by git
    assert served(platform, name).text == "hello from python\n"

    # The site comes from the repository's remote from now on; the log of the deployment is there.
    deployments = json.loads(hosting("deployments", "--json").stdout)
    assert "-----> " in hosting("deployments", str(deployments[0]["id"])).stdout

    configured = hosting("config", "set", "GREETING=from the cli")
    assert "GREETING" in configured.stdout and "v2 is live." in configured.stdout
    assert served(platform, name).text == "hello from python: from the cli\n"
    assert hosting("config").stdout.count("from the cli") == 0  # values stay hidden unless asked
    assert hosting("config", "get", "GREETING").stdout == "from the cli\n"

    rolled = json.loads(hosting("rollback", "--json").stdout)  # to the previous release, v1
    assert rolled["state"] == "succeeded" and rolled["release"] == "v3"
    assert served(platform, name).text == "hello from python\n"
    releases = json.loads(hosting("releases", "--json").stdout)
    assert [(r["label"], r["status"]) for r in releases][:2] == [("v3", "current"), ("v2", "succeeded")]

    # logs -f: the recent lines, and the stream stays open for new ones.
    follow = subprocess.Popen([str(HOSTING), "logs", "-f", "-n", "20"], cwd=work, env=customer_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = follow.stdout.readline()
        assert first.strip(), follow.stderr.read() if follow.poll() is not None else "no line"
        assert follow.poll() is None  # still following
    finally:
        follow.terminate()
        follow.wait(timeout=10)

    unknown = hosting("sites", "info", "no-such-site-here", check=False)
    assert (unknown.returncode, unknown.stderr.strip()) == (4, "hosting: No such site.")

    assert hosting("sites", "delete", name, check=False, stdin="").returncode == 2  # no confirmation, no delete
    hosting("sites", "delete", name, "--confirm", name)
    gone = hosting("sites", "info", name, check=False)
    assert gone.returncode == 4
