"""One-off commands and scheduled jobs on the real stack (issue 14): a run of a deployed site
streams its output and exit code and shares the web container's /data and writable paths; a run
past the plan's time limit is killed and says so; beat starts an every-minute job on time and its
output is kept; hosting.toml's [[cron]] jobs are the site's. Real git, Celery (worker, agent,
beat), Docker and nginx."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from accounts.models import Organization
from tests.integration.support.deploying import api, create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

HOSTING_TOML = """\
writable_paths = ["uploads"]

[[cron]]
name = "nightly"
schedule = "0 3 * * *"
command = "echo nightly"
"""


def _deployed(deploy_env, tmp_path) -> str:
    site = create_site(deploy_env, "runs")
    work = workdir_with(tmp_path, "php", {"hosting.toml": HOSTING_TOML})
    result = push(deploy_env, work, site)
    assert "is live at http://" in result.stderr, result.stderr
    return site


def _run_streamed(platform, customer, site: str, command: str) -> tuple[int, list[str]]:
    """POST a run and read its streamed output to the end: (run id, lines)."""
    with api(platform, customer, "POST", f"sites/{site}/runs/", json={"command": command}, stream=True) as response:
        assert response.status_code == 201, response.text
        assert response.headers["Location"] == f"/api/v1/sites/{site}/runs/{response.headers['X-Run-Id']}/"
        lines = [line.decode() for line in response.iter_lines()]
    return int(response.headers["X-Run-Id"]), lines


def test_a_one_off_command_streams_its_output_and_shares_the_sites_data(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = _deployed(deploy_env, tmp_path)

    run_id, lines = _run_streamed(platform, owner, site, "echo hello from a run; id -u; "
                                  "echo kept > /data/note.txt; echo from-run > /app/uploads/note.txt")

    assert "hello from a run" in lines, lines
    assert lines[-1] == f"-----> Run #{run_id} exited with code 0", lines
    uid = int(lines[lines.index("hello from a run") + 1])
    assert uid >= 1000  # the site's own unprivileged uid, not root
    run = api(platform, owner, "GET", f"sites/{site}/runs/{run_id}/").json()
    assert (run["state"], run["exit_code"], run["trigger"], run["release"]) == ("succeeded", 0, "api", "v1")
    assert "hello from a run" in run["output"]
    # The web container serves what the run wrote into a writable path: the same /data.
    assert served(platform, site, "/?read=note.txt").text.strip() == "from-run"
    # A second run finds the first one's file in /data; a failing command's exit code comes back.
    second, lines = _run_streamed(platform, owner, site, "cat /data/note.txt; exit 3")
    assert "kept" in lines and lines[-1] == f" !     Run #{second}: Exited with code 3.", lines
    assert api(platform, owner, "GET", f"sites/{site}/runs/{second}/").json()["exit_code"] == 3
    # Another organization's member does not learn the run exists; a viewer may read but not run.
    assert api(platform, customers["outsider"], "GET", f"sites/{site}/runs/{run_id}/").status_code == 404
    assert api(platform, customers["viewer"], "POST", f"sites/{site}/runs/", json={"command": "id"}).status_code == 403


def test_a_run_past_the_plans_time_limit_is_killed_and_says_so(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = _deployed(deploy_env, tmp_path)
    plan = Organization.objects.get(slug=owner.organization).plan
    plan.run_timeout_seconds = 10
    plan.save(update_fields=["run_timeout_seconds"])

    started = time.monotonic()
    run_id, lines = _run_streamed(platform, owner, site, "echo started; sleep 120; echo never")

    assert time.monotonic() - started < 60
    assert "started" in lines and "never" not in lines
    assert lines[-1] == f" !     Run #{run_id}: Killed after 10 s: the plan's time limit for a run.", lines
    run = api(platform, owner, "GET", f"sites/{site}/runs/{run_id}/").json()
    assert (run["state"], run["exit_code"]) == ("timed_out", None)


def test_beat_runs_an_every_minute_job_on_time_and_keeps_its_output(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = _deployed(deploy_env, tmp_path)
    jobs = api(platform, owner, "GET", f"sites/{site}/jobs/").json()
    assert [(job["name"], job["source"], job["schedule"]) for job in jobs] == [("nightly", "repository", "0 3 * * *")]

    made = api(platform, owner, "POST", f"sites/{site}/jobs/",
               json={"name": "tick", "schedule": "* * * * *", "command": "echo tick at $(date -u +%H:%M)"})
    assert made.status_code == 201, made.text
    due = datetime.fromisoformat(made.json()["next_run_at"])

    def finished_run():
        last = api(platform, owner, "GET", f"sites/{site}/jobs/tick/").json()["last_run"]
        return last if last and last["state"] not in ("queued", "running") else None

    last = wait_for(finished_run, 120, "the job's first run")
    assert last["state"] == "succeeded", last
    started = datetime.fromisoformat(last["created_at"])
    assert 0 <= (started - due).total_seconds() < 15, (due, started)  # beat's tick at the minute it was due
    output = api(platform, owner, "GET", f"sites/{site}/runs/{last['id']}/").json()["output"]
    assert f"tick at {due.astimezone(timezone.utc):%H:%M}" in output, output
    assert api(platform, owner, "GET", f"sites/{site}/runs/").json()[0]["job"] == "tick"
