"""The CLI against a fake API: login keeps the token in a 0600 file and makes `hosting` git's
credential helper for that host only; --json prints the API's JSON; errors are clear messages with
the exit codes the README promises."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess

import pytest

from hosting_cli import gitcred
from hosting_cli.config import Config
from tests.unit.cli_fake import FakeApi, run_cli, serve

SITE = {"name": "shop", "organization": "acme", "url": "http://shop.apps.localhost:8080/",
        "git_url": "", "status": "running", "runtime": "php", "current_release": "v2", "writable_paths": [],
        "force_https": False, "hsts": False, "health_check_path": "", "domains": ["shop.apps.localhost"],
        "created_at": "2026-11-29T10:00:00.123Z"}
ORGS = [{"slug": "acme", "name": "Acme", "role": "owner", "plan": "starter", "suspended": False}]


@pytest.fixture
def api(tmp_path, monkeypatch):
    """A fake platform, and a HOME and config directory of the test's own (git's global config too)."""
    for name in ("HOSTING_URL", "HOSTING_TOKEN", "HOSTING_SITE", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    fake = FakeApi()
    server = serve(fake)
    fake.on("GET", "/api/v1/orgs/", (200, ORGS))
    fake.on("GET", "/api/v1/sites/", (200, [{**SITE, "git_url": f"{fake.url}/git/shop.git"}]))
    fake.on("GET", "/api/v1/sites/shop/", (200, {**SITE, "git_url": f"{fake.url}/git/shop.git"}))
    yield fake
    server.shutdown()


def login(api, capsys, monkeypatch, token: str = "hst_good-token"):
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    return run_cli(capsys, "login", api.url, "--token-stdin")


def credential(api, host: str) -> str:
    out = io.StringIO()
    gitcred.answer("get", io.StringIO(f"protocol=http\nhost={host}\npath=git/shop.git\n\n"), out, Config.load())
    return out.getvalue()


def global_git(*args: str) -> str:
    return subprocess.run(["git", "config", "--global", *args], capture_output=True, text=True).stdout


def test_it_logs_in_keeps_the_token_private_and_answers_git_for_that_host_only(api, capsys, monkeypatch):
    code, out, err = login(api, capsys, monkeypatch)
    assert code == 0, err
    assert f"Logged in to {api.url}. Organizations: acme (owner)." in out
    path = Config.load().path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text())["profiles"][api.url]["token"] == "hst_good-token"
    host = api.url.removeprefix("http://")
    # git asks `hosting git-credential` for this portal only, and gets the token; never for another host.
    helpers = global_git("--get-all", f"credential.{api.url}.helper").splitlines()
    assert helpers[0] == "" and helpers[1].endswith(" git-credential")
    assert credential(api, host) == "username=hosting\npassword=hst_good-token\n"
    assert credential(api, "github.com") == ""
    assert credential(api, "127.0.0.1:1") == ""


def test_a_wrong_token_is_refused_at_login_and_nothing_is_stored(api, capsys, monkeypatch):
    code, out, err = login(api, capsys, monkeypatch, token="hst_wrong")
    assert code == 3
    assert "refused your token" in err and "hosting login" in err
    assert not Config.load().path.exists()
    assert global_git("--get-all", f"credential.{api.url}.helper") == ""


def test_commands_before_login_say_so(api, capsys):
    code, _, err = run_cli(capsys, "sites")
    assert code == 3 and "not logged in" in err


def test_json_is_the_apis_own_and_humans_get_a_table(api, capsys, monkeypatch):
    login(api, capsys, monkeypatch)
    code, out, _ = run_cli(capsys, "sites", "--json")
    assert code == 0 and json.loads(out) == [{**SITE, "git_url": f"{api.url}/git/shop.git"}]
    code, out, _ = run_cli(capsys, "--json", "sites", "info", "shop")
    assert json.loads(out)["name"] == "shop"
    code, out, _ = run_cli(capsys, "sites")
    assert out.splitlines()[0].split() == ["SITE", "ORGANIZATION", "STATUS", "RELEASE", "URL"]
    assert out.splitlines()[1].split() == ["shop", "acme", "running", "v2", "http://shop.apps.localhost:8080/"]
    code, out, _ = run_cli(capsys, "sites:info", "shop")  # heroku-style names work too
    assert "Created:        2026-11-29 10:00:00" in out and f"Git remote:     {api.url}/git/shop.git" in out


@pytest.mark.parametrize("status, body, code, message", [
    (404, {"detail": "No such site."}, 4, "No such site."),
    (403, {"detail": "Your role in this organization (viewer) may not configure."}, 5, "(viewer) may not configure"),
    (400, {"vars": ["PORT is set by the platform."]}, 1, "vars: PORT is set by the platform."),
    (429, {"detail": "Too many streams."}, 6, "Too many streams."),
    (500, b"<html>oops</html>", 6, "failed to answer (500)"),
    # The platform's own shape (core/problems.py): the sentence, not the field map again
    (400, {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "vars: PORT is set by the platform.",
           "errors": {"vars": ["PORT is set by the platform."]}}, 1, "hosting: vars: PORT is set by the platform.\n"),
])
def test_errors_are_clear_with_the_documented_exit_codes(api, capsys, monkeypatch, status, body, code, message):
    login(api, capsys, monkeypatch)
    api.on("POST", "/api/v1/sites/shop/env/", (status, body))
    exit_code, out, err = run_cli(capsys, "config", "set", "PORT=1", "--site", "shop")
    assert exit_code == code, err
    assert message in err and out == ""


def test_an_unknown_site_and_an_unreachable_platform(api, capsys, monkeypatch):
    login(api, capsys, monkeypatch)
    code, _, err = run_cli(capsys, "releases", "--site", "nope")
    assert (code, err.strip()) == (4, "hosting: No such site.")
    monkeypatch.setenv("HOSTING_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("HOSTING_TOKEN", "hst_good-token")
    code, _, err = run_cli(capsys, "sites")
    assert code == 6 and "Cannot reach the platform at http://127.0.0.1:9" in err


def test_usage_errors_exit_2(api, capsys, monkeypatch):
    login(api, capsys, monkeypatch)
    code, _, err = run_cli(capsys, "releases")  # no --site and no `hosting` remote here
    assert code == 2 and "--site NAME" in err
    code, _, err = run_cli(capsys, "config", "set", "NOEQUALS", "-s", "shop")
    assert code == 2 and "is not KEY=value" in err
    assert run_cli(capsys, "no-such-command")[0] == 2


def test_the_site_comes_from_the_repositorys_remote_which_carries_no_token(api, capsys, monkeypatch, tmp_path):
    login(api, capsys, monkeypatch)
    subprocess.run(["git", "init", "-q", str(tmp_path / "app")], check=True)
    monkeypatch.chdir(tmp_path / "app")
    code, out, err = run_cli(capsys, "git:remote", "--site", "shop")
    assert code == 0, err
    assert subprocess.run(["git", "remote", "get-url", "hosting"], capture_output=True, text=True).stdout.strip() \
        == f"{api.url}/git/shop.git"
    assert "hst_good-token" not in (tmp_path / "app" / ".git" / "config").read_text()
    api.on("GET", "/api/v1/sites/shop/releases/", (200, []))
    code, out, _ = run_cli(capsys, "releases")
    assert code == 0 and "No releases yet" in out
    assert api.sent("GET", "/api/v1/sites/shop/releases/")


def test_the_bash_completion_is_made_from_the_parser(api, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "completion", "bash")
    assert code == 0 and "complete -F _hosting hosting" in out
    assert "git:remote" in out and "git-credential" not in out
    assert 'config) choices="--help --json --site list get set unset --no-wait"' in out
    script = tmp_path / "completion.bash"
    script.write_text(out)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
