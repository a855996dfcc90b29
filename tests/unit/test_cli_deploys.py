"""The CLI's longer conversations against a fake API: a deployment followed until it ends (its log,
then the exit code of its outcome), an archive of the working tree, rollback to the previous
release, a run's exit code passed through, a followed log, delete only with confirmation, and
domains with the DNS records to create."""
from __future__ import annotations

import io
import json
import re
import tarfile

import pytest

from tests.unit.cli_fake import run_cli
from tests.unit.test_cli_basics import api, login  # noqa: F401 (the fixture)

DEPLOYMENT = {"id": 7, "trigger": "config", "state": "queued", "source": "", "release": None, "created_by": "o@x.com",
              "error": "", "created_at": "2026-11-29T10:00:00Z", "started_at": None, "build_finished_at": None,
              "finished_at": None}


def deployment_that(api, ends: str, error: str = "") -> None:
    """The deployment's detail: running with part of its log, then ended with all of it."""
    polls = iter([
        {**DEPLOYMENT, "state": "building", "log": "-----> Building\n       half a li"},
        {**DEPLOYMENT, "state": "releasing", "log": "-----> Building\n       half a line\n-----> Releasing v3\n"},
    ])

    def detail(_request):
        body = next(polls, None) or {**DEPLOYMENT, "state": ends, "release": "v3", "error": error,
                                      "log": "-----> Building\n       half a line\n-----> Releasing v3\n-----> Done\n"}
        return 200, body

    api.on("GET", "/api/v1/sites/shop/deployments/7/", detail)


@pytest.fixture
def logged_in(api, capsys, monkeypatch):
    monkeypatch.setattr("hosting_cli.commands.deploys.time.sleep", lambda seconds: None)
    assert login(api, capsys, monkeypatch)[0] == 0
    return api


def test_config_set_follows_the_new_release_until_it_is_live(logged_in, capsys):
    logged_in.on("POST", "/api/v1/sites/shop/env/", (202, DEPLOYMENT))
    deployment_that(logged_in, "succeeded")
    code, out, err = run_cli(capsys, "config:set", "A=1", "B=two words", "-s", "shop")
    assert code == 0, err
    assert json.loads(logged_in.sent("POST", "/api/v1/sites/shop/env/")[0]["body"]) == {"vars": {"A": "1", "B": "two words"}}
    # Each line once, whole, in order; the states as they change.
    assert out == ("-----> Building\n       half a line\n-----> Releasing v3\n-----> Done\n"
                   "Set A, B: v3 is live.\n")
    assert re.findall(r"==> Deployment #7: (\w+)", err) == ["building", "releasing", "succeeded"]


def test_a_failed_deployment_exits_1_with_its_reason_and_json_gets_the_deployment(logged_in, capsys):
    logged_in.on("POST", "/api/v1/sites/shop/rollback/", (202, DEPLOYMENT))
    deployment_that(logged_in, "failed", error="The app never answered on $PORT.")
    code, out, err = run_cli(capsys, "rollback", "v1", "-s", "shop", "--json")
    assert code == 1
    assert "Rollback to v1 failed: The app never answered on $PORT." in err
    assert json.loads(out)["state"] == "failed"  # stdout is the API's JSON; the log went to stderr
    assert "-----> Done" in err


def test_rollback_without_a_release_picks_the_previous_one_that_went_live(logged_in, capsys):
    logged_in.on("GET", "/api/v1/sites/shop/releases/", (200, [
        {"label": "v4", "status": "current"}, {"label": "v3", "status": "failed"}, {"label": "v2", "status": "succeeded"},
        {"label": "v1", "status": "succeeded"}]))
    logged_in.on("POST", "/api/v1/sites/shop/rollback/", (202, DEPLOYMENT))
    deployment_that(logged_in, "succeeded")
    assert run_cli(capsys, "rollback", "-s", "shop")[0] == 0
    assert json.loads(logged_in.sent("POST", "/api/v1/sites/shop/rollback/")[0]["body"]) == {"release": "v2"}


def test_config_before_the_first_deploy_has_nothing_to_follow(logged_in, capsys):
    logged_in.on("DELETE", "/api/v1/sites/shop/env/A/", (200, {"deployment": None}))
    code, out, _ = run_cli(capsys, "config", "unset", "A", "-s", "shop")
    assert code == 0 and "nothing is deployed yet" in out


def test_config_lists_names_and_shows_a_value_only_when_asked(logged_in, capsys):
    logged_in.on("GET", "/api/v1/sites/shop/env/", (200, {"SECRET": "(set)"}))
    logged_in.on("GET", "/api/v1/sites/shop/env/SECRET/", (200, {"key": "SECRET", "value": "s3cr3t"}))
    code, out, _ = run_cli(capsys, "config", "-s", "shop")
    assert code == 0 and "SECRET" in out and "s3cr3t" not in out
    assert run_cli(capsys, "config", "get", "SECRET", "-s", "shop")[1] == "s3cr3t\n"


def test_deploy_uploads_the_working_tree_without_git(logged_in, capsys, tmp_path):
    app = tmp_path / "site"
    (app / ".git").mkdir(parents=True)
    (app / ".git" / "config").write_text("[remote]\n")
    (app / "public").mkdir()
    (app / "public" / "index.html").write_text("<h1>hi</h1>")
    logged_in.on("POST", "/api/v1/sites/shop/deployments/", (202, DEPLOYMENT))
    deployment_that(logged_in, "succeeded")
    code, out, err = run_cli(capsys, "deploy", str(app), "-s", "shop")
    assert code == 0, err
    request = logged_in.sent("POST", "/api/v1/sites/shop/deployments/")[0]
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    archive = request["body"].split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert sorted(tar.getnames()) == ["public", "public/index.html"]
    assert "Deploy: v3 is live." in out


def test_run_streams_the_output_and_exits_with_the_commands_code(logged_in, capsys):
    streamed = b"migrating\ndone\n -----> nothing\n !     Run #5: Exited with code 3.\n"
    logged_in.on("POST", "/api/v1/sites/shop/runs/", (201, streamed, "text/plain"))
    code, out, err = run_cli(capsys, "run", "-s", "shop", "python", "manage.py", "migrate", "--noinput")
    assert code == 3
    assert json.loads(logged_in.sent("POST", "/api/v1/sites/shop/runs/")[0]["body"]) == {
        "command": "python manage.py migrate --noinput", "attach": True}
    assert out == "migrating\ndone\n -----> nothing\n" and "Run #5: Exited with code 3." in err
    logged_in.on("POST", "/api/v1/sites/shop/runs/", (201, b"hi\n-----> Run #6 exited with code 0\n", "text/plain"))
    assert run_cli(capsys, "run", "-s", "shop", "echo hi")[0] == 0
    # --json: the output on stderr, the run as the API shows it on stdout (its id from X-Run-Id).
    logged_in.on("POST", "/api/v1/sites/shop/runs/", (201, b"hi\n-----> Run #6 exited with code 0\n", "text/plain",
                                                      {"X-Run-Id": "6"}))
    logged_in.on("GET", "/api/v1/sites/shop/runs/6/", (200, {"id": 6, "exit_code": 0, "output": "hi\n"}))
    code, out, err = run_cli(capsys, "--json", "run", "-s", "shop", "echo hi")
    assert code == 0 and json.loads(out)["exit_code"] == 0 and "hi" in err


def test_logs_follow_streams_lines_as_they_come(logged_in, capsys):
    logged_in.on("GET", "/api/v1/sites/shop/logs/", lambda request: (
        (200, b"one\ntwo\n", "text/plain") if "follow=1" in request["query"] else (200, {"lines": ["one"]})))
    assert run_cli(capsys, "logs", "-s", "shop")[1] == "one\n"
    code, out, _ = run_cli(capsys, "logs", "-f", "-n", "5", "-s", "shop")
    assert (code, out) == (0, "one\ntwo\n")
    assert "lines=5" in logged_in.sent("GET", "/api/v1/sites/shop/logs/")[-1]["query"]


def test_delete_needs_the_sites_name_typed_or_given(logged_in, capsys, monkeypatch):
    logged_in.on("DELETE", "/api/v1/sites/shop/", (204, None))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt
    code, _, err = run_cli(capsys, "sites", "delete", "shop")
    assert code == 2 and "--confirm shop" in err
    assert run_cli(capsys, "sites", "delete", "shop", "--confirm", "shoe")[0] == 2
    assert not logged_in.sent("DELETE", "/api/v1/sites/shop/")
    code, out, _ = run_cli(capsys, "sites", "delete", "shop", "--confirm", "shop")
    assert (code, out) == (0, "Deleted shop.\n") and len(logged_in.sent("DELETE", "/api/v1/sites/shop/")) == 1


def test_adding_a_domain_prints_the_exact_dns_records(logged_in, capsys):
    domain = {"hostname": "www.shop.example", "is_default": False, "verified": False, "verified_at": None,
              "certificate": None, "created_at": "2026-11-29T10:00:00Z",
              "verification": {"dns_txt_name": "_hosting-verify.www.shop.example", "dns_txt_value": "hosting-verify=abc",
                               "http_url": "http://www.shop.example/.well-known/hosting-verify", "http_body": "abc",
                               "note": "..."}}
    logged_in.on("POST", "/api/v1/sites/shop/domains/", (201, domain))
    code, out, _ = run_cli(capsys, "domains", "add", "www.shop.example", "-s", "shop")
    assert code == 0
    lines = [line.split(None, 3)[:3] for line in out.splitlines()]
    assert ["CNAME", "www.shop.example", "shop.apps.localhost"] in lines
    assert ["TXT", "_hosting-verify.www.shop.example", "hosting-verify=abc"] in lines
    code, out, _ = run_cli(capsys, "domains", "add", "www.shop.example", "-s", "shop", "--json")
    assert json.loads(out)["dns_records"][1]["value"] == "hosting-verify=abc"
