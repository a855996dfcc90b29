"""Process types against the real stack: a Python app whose Procfile has `web:` and `worker:`. The
workers write a heartbeat into the site's /data and the web process shows the fresh ones, so what
the test reads through the edge is what the workers do. Scaled to 2 and back to 0 through the API;
a killed and a removed worker come back with reconcile; a new release replaces the workers after
its web instance went live."""
from __future__ import annotations

import json

import pytest
from django.utils import timezone

from accounts.models import Plan
from hosting.models import Host
from hosting.spec import LABEL_INSTANCE
from tests.integration.support.deploying import api, commit_all, create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for
from tests.integration.test_reconcile import reconcile_now

pytestmark = pytest.mark.django_db(transaction=True)

WEB = '''
import http.server, json, os, time

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        beats = {}
        folder = "/data/beats"
        for name in (os.listdir(folder) if os.path.isdir(folder) else []):
            path = os.path.join(folder, name)
            if time.time() - os.path.getmtime(path) < 3:  # a worker that stopped beating is not shown
                with open(path) as f:
                    beats[name] = f.read()
        body = json.dumps(beats, sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
'''
WORKER = '''
import os, time
os.makedirs("/data/beats", exist_ok=True)
version = open("/app/VERSION").read().strip()
path = "/data/beats/" + os.environ["DYNO"]
print("worker", os.environ["DYNO"], "of", version, "started", flush=True)
while True:
    with open(path + ".tmp", "w") as f:
        f.write(version)
    os.replace(path + ".tmp", path)
    time.sleep(0.5)
'''
FILES = {"requirements.txt": "# no dependencies\n", "web.py": WEB, "worker.py": WORKER, "VERSION": "one\n",
         "Procfile": "web: python3 web.py\nworker: python3 worker.py\n"}


def beats(platform, site: str) -> dict:
    response = served(platform, site)
    return json.loads(response.text) if response.status_code == 200 else {}


def workers(engine, site: str) -> dict[str, bool]:
    """{container name: running} of the site's worker containers."""
    return {c.name: c.running for c in engine.list_site_containers(site) if c.labels.get(LABEL_INSTANCE, "").startswith("worker-")}


@pytest.fixture
def without_beat(deploy_env):
    """Beat's reconcile every minute would bring processes up too: without it, whatever starts or
    stops them is the step under test (a scale, a switch, the test's own reconcile). Without beat
    no silent host is marked down either: the other hosts (a fleet test's harness hosts, stopped
    a moment ago) are cordoned meanwhile, so the site lands on the platform's own."""
    others = Host.objects.exclude(name="platform-test").filter(cordoned_at__isnull=True)
    cordoned = list(others.values_list("pk", flat=True))
    others.update(cordoned_at=timezone.now())
    beat = deploy_env[0].processes["beat"]
    beat.stop()
    try:
        yield
    finally:
        beat.start()
        Host.objects.filter(pk__in=cordoned).update(cordoned_at=None)


def test_workers_scale_restart_and_follow_each_release(deploy_env, without_beat, tmp_path, engine):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    Plan.objects.filter(name="starter").update(max_processes=2)
    site = create_site(deploy_env, "workers")
    work = workdir_with(tmp_path, None, FILES)
    push(deploy_env, work, site)
    formation = api(platform, owner, "GET", f"sites/{site}/formation/").json()
    assert formation["processes"] == [{"type": "worker", "command": "python3 worker.py", "quantity": 0, "running": 0}]
    assert beats(platform, site) == {} and workers(engine, site) == {}  # Heroku's default: none until scaled

    # Scale to 2: both beat into /data, which the web process reads.
    scaled = api(platform, owner, "PATCH", f"sites/{site}/formation/", json={"worker": 2})
    assert scaled.status_code == 200, scaled.text
    wait_for(lambda: beats(platform, site) == {"worker.1": "one", "worker.2": "one"}, 60, "two workers to beat")
    first = workers(engine, site)
    assert len(first) == 2 and all(first.values())
    inspected = engine.inspect(next(iter(first)))
    assert inspected["HostConfig"]["PortBindings"] in ({}, None)  # no published port
    assert inspected["Config"]["Healthcheck"]["Test"] == ["NONE"]  # no probe of a port it does not open
    logs = api(platform, owner, "GET", f"sites/{site}/logs/", params={"process": "worker.2"}).json()
    assert "worker worker.2 of one started" in logs["lines"], logs
    over = api(platform, owner, "PATCH", f"sites/{site}/formation/", json={"worker": 3})
    assert over.status_code == 400 and "allows 2 process containers" in over.text

    # One killed (Docker does not restart what was killed by hand), one removed: reconcile brings both back.
    killed, removed = sorted(first)
    engine.client.containers.get(killed).kill()
    engine.remove(removed)
    wait_for(lambda: beats(platform, site) == {}, 10, "the workers' beats to go stale")
    reconcile_now()
    wait_for(lambda: beats(platform, site) == {"worker.1": "one", "worker.2": "one"}, 60, "reconcile to bring both back")
    assert workers(engine, site) == {killed: True, removed: True}  # the same names: the same release's workers

    # A new release: its workers replace the old ones once its web instance is live.
    (work / "VERSION").write_text("two\n")
    commit_all(work, "two")
    push(deploy_env, work, site)
    wait_for(lambda: beats(platform, site) == {"worker.1": "two", "worker.2": "two"}, 60, "the new release's workers")
    wait_for(lambda: set(workers(engine, site)).isdisjoint(first) and len(workers(engine, site)) == 2, 30,
             "the old release's workers to be stopped")

    # Back to 0: no worker runs.
    assert api(platform, owner, "PATCH", f"sites/{site}/formation/", json={"worker": 0}).status_code == 200
    wait_for(lambda: workers(engine, site) == {}, 30, "the workers to stop")
    wait_for(lambda: beats(platform, site) == {}, 10, "no worker to beat")
    assert api(platform, owner, "GET", f"sites/{site}/formation/").json()["processes"][0]["quantity"] == 0
