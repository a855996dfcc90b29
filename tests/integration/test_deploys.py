"""git push to a live site, end to end: real git, gunicorn, Celery worker and agent, Docker, nginx."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from accounts.models import AuditEvent
from tests.integration.support.deploying import (
    api,
    commit_all,
    create_site,
    finished_deployment,
    git,
    push,
    push_url,
    served,
    workdir_with,
)
from tests.archives import tar_gz
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_static_site_goes_live_with_a_git_push(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "static")
    work = workdir_with(tmp_path, None, {"public/index.html": "<h1>hello from static v1</h1>\n"})

    result = push(deploy_env, work, site)

    assert "is live at http://" in result.stderr, result.stderr
    assert "remote: -----> Static site (nginx) app (detected)" in result.stderr
    response = served(platform, site)
    assert response.status_code == 200 and "hello from static v1" in response.text
    owner = deploy_env[1]["owner"]
    release = api(platform, owner, "GET", f"sites/{site}/releases/").json()[0]
    assert (release["label"], release["status"], release["trigger"], release["created_by"]) == (
        "v1", "current", "push", owner.email)  # the pusher, as the token said
    event = AuditEvent.objects.get(site_name=site, action="deploy.push")
    assert (event.actor_label, event.address) == (owner.email, "127.0.0.1")  # the push's client, through the hook


def test_a_second_push_serves_new_content_without_a_failed_request(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "zero")
    work = workdir_with(tmp_path, None, {"public/index.html": "version one\n"})
    push(deploy_env, work, site)
    (work / "public/index.html").write_text("version two\n")
    commit_all(work, "two")

    failures, bodies, stop = [], set(), threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.get(f"http://127.0.0.1:{platform.edge_port}/", headers={"Host": f"{site}.apps.localhost"}, timeout=10)
                    if response.status_code != 200:
                        failures.append(response.status_code)
                    bodies.add(response.text)
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    client = threading.Thread(target=hammer)
    client.start()
    try:
        push(deploy_env, work, site)
        time.sleep(3)  # past the drain: the old instance is gone by now
    finally:
        stop.set()
        client.join()

    assert failures == []
    assert bodies == {"version one\n", "version two\n"}
    assert served(platform, site).text == "version two\n"


def test_a_failed_build_rejects_the_push_and_keeps_serving(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "broken")
    work = workdir_with(tmp_path, None, {"public/index.html": "still here\n"})
    push(deploy_env, work, site)
    (work / "Procfile").write_text("this line is not a process\n")
    commit_all(work, "break the Procfile")

    result = push(deploy_env, work, site, check=False)

    assert result.returncode != 0
    assert "pre-receive hook declined" in result.stderr
    assert "Procfile line 1 is not `name: command`" in result.stderr
    assert served(platform, site).text == "still here\n"
    remote_main = git("ls-remote", push_url(platform, deploy_env[1]["owner"], site), "refs/heads/main", cwd=work).stdout
    assert remote_main.split()[0] == git("rev-parse", "HEAD~1", cwd=work).stdout.strip()


def test_an_app_that_never_listens_fails_with_its_last_lines(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "silent")
    work = workdir_with(tmp_path, None, {"public/index.html": "old release\n"})
    push(deploy_env, work, site)
    (work / "Procfile").write_text("web: echo booting the silent app; sleep 1000\n")
    commit_all(work, "never listens")

    result = push(deploy_env, work, site, check=False)

    assert result.returncode != 0
    assert "did not answer HTTP on $PORT" in result.stderr
    assert "booting the silent app" in result.stderr
    assert served(platform, site).text == "old release\n"
    deployments = api(platform, deploy_env[1]["owner"], "GET", f"sites/{site}/deployments/").json()
    assert deployments[0]["state"] == "failed" and "did not answer" in deployments[0]["error"]


def test_another_organization_cannot_push_read_or_learn_of_a_site(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "private")
    work = workdir_with(tmp_path, None, {"index.html": "secret"})

    for path in (f"sites/{site}/", f"sites/{site}/deployments/", f"sites/{site}/env/", f"sites/{site}/logs/"):
        assert api(platform, customers["outsider"], "GET", path).status_code == 404
    assert api(platform, customers["outsider"], "DELETE", f"sites/{site}/").status_code == 404
    assert api(platform, customers["outsider"], "POST", f"sites/{site}/restart/").status_code == 404
    assert site not in [s["name"] for s in api(platform, customers["outsider"], "GET", "sites/").json()]

    rejected = push(deploy_env, work, site, customer="outsider", check=False)
    unknown = push(deploy_env, work, "no-such-site-here", customer="outsider", check=False)
    # Told the site is not among theirs (only their own sites named): the same as for no site at all.
    assert rejected.returncode != 0 and f"remote: No site '{site}' among your sites" in rejected.stderr, rejected.stderr
    assert rejected.stderr.replace(site, "X") == unknown.stderr.replace("no-such-site-here", "X")
    viewer = push(deploy_env, work, site, customer="viewer", check=False)
    assert viewer.returncode != 0 and "403" in viewer.stderr


def test_a_viewer_reads_but_cannot_change(deploy_env):
    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "viewed")
    assert api(platform, customers["viewer"], "GET", f"sites/{site}/").status_code == 200
    assert api(platform, customers["viewer"], "POST", f"sites/{site}/env/", json={"vars": {"A": "1"}}).status_code == 403
    assert api(platform, customers["viewer"], "DELETE", f"sites/{site}/").status_code == 403


@pytest.mark.parametrize("runtime, expected", [
    ("python", "hello from python"),
    ("php", "hello from php"),
    ("node", "hello from node"),
    ("static", "hello from static"),
])
def test_each_runtimes_sample_app_deploys_with_git_push(deploy_env, tmp_path, runtime, expected):
    platform = deploy_env[0]
    site = create_site(deploy_env, runtime)
    work = workdir_with(tmp_path, runtime)

    result = push(deploy_env, work, site)

    assert "is live at" in result.stderr
    response = served(platform, site, "/some/page" if runtime == "php" else "/")
    assert response.status_code == 200 and expected in response.text, response.text
    if runtime == "php":  # .htaccess routed the path to the front controller
        assert "/some/page" in response.text


def test_rollback_and_config_changes_make_new_releases(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "releases")
    work = workdir_with(tmp_path, "python")
    push(deploy_env, work, site)
    (work / "app.py").write_text((work / "app.py").read_text().replace("hello from python", "hello from python v2"))
    commit_all(work, "v2")
    push(deploy_env, work, site)
    assert "hello from python v2" in served(platform, site).text

    rollback = api(platform, owner, "POST", f"sites/{site}/rollback/", json={"release": 1})
    assert rollback.status_code == 202, rollback.text
    assert finished_deployment(platform, owner, site, rollback.json()["id"])["state"] == "succeeded"
    text = served(platform, site).text
    assert "hello from python" in text and "v2" not in text

    change = api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {"GREETING": "configured"}})
    assert change.status_code == 202, change.text
    detail = finished_deployment(platform, owner, site, change.json()["id"])
    assert detail["state"] == "succeeded", detail["log"]
    assert served(platform, site).text == "hello from python: configured\n", detail  # v1's code, new config
    releases = api(platform, owner, "GET", f"sites/{site}/releases/").json()
    assert [r["version"] for r in releases] == [4, 3, 2, 1]
    assert releases[0]["description"] == "Set GREETING" and releases[1]["description"] == "Rollback to v1"
    assert api(platform, owner, "GET", f"sites/{site}/env/").json() == {"GREETING": "(set)"}

    unset = api(platform, owner, "DELETE", f"sites/{site}/env/GREETING/")
    assert finished_deployment(platform, owner, site, unset.json()["id"])["state"] == "succeeded"
    assert served(platform, site).text == "hello from python\n"


@pytest.mark.parametrize("declared_in", ["api", "hosting.toml"])
def test_writable_paths_keep_their_files_across_deploys_and_rollbacks(deploy_env, tmp_path, declared_in):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    if declared_in == "api":
        site = create_site(deploy_env, "uploads", writable_paths=["uploads"])
        work = workdir_with(tmp_path, "php")
    else:
        site = create_site(deploy_env, "uploads")
        work = workdir_with(tmp_path, "php", {"hosting.toml": 'writable_paths = ["uploads"]\n'})
    push(deploy_env, work, site)
    assert "wrote uploads/kept.txt" in served(platform, site, "/?write=kept.txt&content=still-here").text

    (work / "README.md").write_text("second release\n")
    commit_all(work, "v2")
    push(deploy_env, work, site)
    assert served(platform, site, "/?read=kept.txt").text.strip() == "still-here"

    rollback = api(platform, owner, "POST", f"sites/{site}/rollback/", json={"release": 1})
    assert finished_deployment(platform, owner, site, rollback.json()["id"])["state"] == "succeeded"
    assert served(platform, site, "/?read=kept.txt").text.strip() == "still-here"


def test_an_archive_upload_deploys(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "archive")
    archive = tar_gz({"project-main/public/index.html": b"hello from an archive\n"})

    response = requests.post(f"{platform.portal}/api/v1/sites/{site}/deployments/", headers=owner.headers(),
                             files={"archive": ("site.tar.gz", archive)}, timeout=60)

    assert response.status_code == 202, response.text
    detail = finished_deployment(platform, owner, site, response.json()["id"])
    assert detail["state"] == "succeeded", detail["log"]
    assert "-----> Receiving source" in detail["log"]
    assert served(platform, site).text == "hello from an archive\n"


def test_stop_start_restart_logs_and_delete(deploy_env, tmp_path, engine):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "lifecycle")
    push(deploy_env, workdir_with(tmp_path, "python"), site)

    def settled(response):
        detail = finished_deployment(platform, owner, site, response.json()["id"])
        assert detail["state"] == "succeeded", detail["log"]

    assert api(platform, owner, "POST", f"sites/{site}/stop/").status_code == 202
    wait_for(lambda: served(platform, site).status_code == 503, 30, "the stopped page")
    assert "stopped" in served(platform, site).text
    wait_for(lambda: not [c for c in engine.list_site_containers(site) if c.running], 30, "the container to stop")

    settled(api(platform, owner, "POST", f"sites/{site}/start/"))
    assert served(platform, site).text == "hello from python\n"
    before = {c.name for c in engine.list_site_containers(site) if c.running}
    settled(api(platform, owner, "POST", f"sites/{site}/restart/"))
    wait_for(lambda: {c.name for c in engine.list_site_containers(site) if c.running}.isdisjoint(before), 30,
             "the restart to replace the container")
    assert served(platform, site).text == "hello from python\n"

    logs = api(platform, owner, "GET", f"sites/{site}/logs/?lines=50").json()["lines"]
    assert any("GET / HTTP" in line or "Booting worker" in line for line in logs), logs
    with requests.get(f"{platform.portal}/api/v1/sites/{site}/logs/?lines=1&follow=1", headers=owner.headers(),
                      stream=True, timeout=10) as follow:
        assert follow.status_code == 200
        first = next(follow.iter_lines())
        assert first  # the last line so far; the stream then stays open for new ones

    assert api(platform, owner, "DELETE", f"sites/{site}/").status_code == 204
    assert api(platform, owner, "GET", f"sites/{site}/").status_code == 404
    wait_for(lambda: served(platform, site).status_code == 404, 30, "the route to go")
    wait_for(lambda: not engine.list_site_containers(site), 30, "the containers to go")


def test_the_openapi_schema_is_published(deploy_env):
    platform = deploy_env[0]
    schema = requests.get(f"{platform.portal}/api/v1/schema/", headers=deploy_env[1]["owner"].headers(), timeout=30)
    assert schema.status_code == 200
    assert "/api/v1/sites/{name}/deployments/" in schema.text


def test_the_release_command_runs_before_the_switch_and_can_stop_it(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "phase")
    work = workdir_with(tmp_path, None, {"public/index.html": "first\n",
                                         "Procfile": "release: echo running the release phase for $GREETING\n"})
    ok = push(deploy_env, work, site)
    assert "running the release phase" in ok.stderr
    assert served(platform, site).text == "first\n"

    (work / "Procfile").write_text("release: echo migration failed; exit 3\n")
    (work / "public/index.html").write_text("second\n")
    commit_all(work, "failing release phase")
    failed = push(deploy_env, work, site, check=False)

    assert failed.returncode != 0
    assert "migration failed" in failed.stderr and "release command failed with exit code 3" in failed.stderr
    assert served(platform, site).text == "first\n"


def test_a_push_larger_than_the_plan_allows_is_refused(deploy_env, tmp_path):
    import os

    from accounts.models import Plan
    from sites.models import Site

    platform = deploy_env[0]
    site = create_site(deploy_env, "toobig")
    tiny = Plan.objects.create(name=f"tiny-{site}", label="Tiny", memory_mb=128, cpu_millicores=250, pids_limit=64,
                               disk_mb=64, max_sites=1, max_custom_domains=0, max_push_mb=1, build_timeout_seconds=60)
    Site.objects.filter(name=site).update(plan=tiny)
    work = workdir_with(tmp_path, None, {"public/index.html": "small\n"})
    (work / "public" / "big.bin").write_bytes(os.urandom(3 * 2**20))
    commit_all(work, "too big")

    result = push(deploy_env, work, site, check=False)

    assert result.returncode != 0
    # git's own "pack exceeds maximum allowed size" is replaced by the plan's sentence (sites/push_reply.py).
    assert ("remote: This push is larger than your plan allows: 1 MB per push is the limit of the Tiny plan."
            in result.stderr), result.stderr
    assert "exceeds maximum allowed size" not in result.stderr
    assert served(platform, site).status_code == 404  # nothing was deployed
