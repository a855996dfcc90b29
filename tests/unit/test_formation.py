"""Process types (workers): the formation's rules at their own interface. What a scale accepts and
refuses (the Procfile's types, whole counts, the plan's max_processes, the web host's room), which
containers should run (named after the live deployment: a new release, a restart or a move gives
new names), what reconcile may remove, and the agent's converge with Docker faked at our interface."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent, Plan
from accounts.services import create_organization
from hosting.models import Host, Instance
from hosting.placement import NoHostAvailable, NoRoomOnHost
from hosting.spec import ContainerSpec, ContainerState, ResourceLimits
from sites import formation, healing, processes, services
from sites.models import Deployment, Release, Site, Slug
from sites.pipeline import machine

pytestmark = pytest.mark.django_db

PROCFILE = {"web": "gunicorn app:app", "release": "python migrate.py", "worker": "python worker.py",
            "clock": "python clock.py", "mail_out": "python mail.py"}


class Recorder:
    def __init__(self) -> None:
        self.converged: list[int] = []

    def converge_processes(self, site) -> None:
        self.converged.append(site.pk)


def deployed(name: str = "shop", plan: str = "standard", host_memory: int = 8192) -> Site:
    """A site whose release v1 (with PROCFILE) is live on host h1 from deployment d<N>."""
    host = Host.objects.filter(name="h1").first() or Host.objects.create(
        name="h1", memory_mb=host_memory, cpus=4, last_heartbeat=timezone.now())
    org = create_organization(f"org-{name}", f"owner@{name}.example", plan=Plan.objects.get(name=plan))
    site = services.create_site(org, name)
    slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="python", source="abc",
                               processes=PROCFILE)
    release = Release.objects.create(site=site, version=1, slug=slug, description="v1", encrypted_config="")
    deployment = Deployment.objects.create(site=site, trigger="push", release=release, state="succeeded",
                                           host_name=host.name)
    web = Instance.objects.create(host=host, name=f"site-{name}-v1-d{deployment.pk}", site_label=name,
                                  release_label="v1", state="running", memory_mb=512, cpu_millicores=500)
    Site.objects.filter(pk=site.pk).update(current_release=release, current_instance=web)
    return Site.objects.select_related("plan", "organization", "current_instance__host").get(pk=site.pk)


def live_deployment_id(site: Site) -> int:
    return int(site.current_instance.name.rsplit("-d", 1)[1])


# --- what a scale accepts ------------------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    ({}, "Send the process types"),
    ([2], "Send the process types"),
    ({"worker": -1}, "whole number from 0 to 100"),
    ({"worker": "2"}, "whole number"),
    ({"worker": True}, "whole number"),
    ({"worker": 2.5}, "whole number"),
    ({"worker": 101}, "whole number"),
    ({"web": 2}, "web process runs one container"),
    ({"release": 1}, "release command runs once"),
])
def test_it_refuses_a_bad_request_with_a_clear_error(body, message):
    with pytest.raises(ValidationError, match=message):
        formation.parse_changes(body)


def test_it_scales_a_procfile_type_audits_it_and_has_the_agent_start_it():
    site, recorder = deployed(), Recorder()
    formation.scale(site, {"worker": 2, "clock": 1}, recorder)
    site.refresh_from_db()
    assert site.formation == {"worker": 2, "clock": 1}
    assert recorder.converged == [site.pk]
    event = AuditEvent.objects.get(action="site.scale")
    assert event.site_name == "shop" and event.detail == {"clock": 1, "worker": 2}
    formation.scale(site, {"worker": 0}, recorder)  # 0 stops them: the key goes
    site.refresh_from_db()
    assert site.formation == {"clock": 1}


def test_it_refuses_a_type_the_current_procfile_does_not_declare():
    site = deployed()
    with pytest.raises(ValidationError, match=r"no 'mailer' process \(it declares clock, mail_out, worker\)"):
        formation.scale(site, {"mailer": 1}, Recorder())
    Site.objects.filter(pk=site.pk).update(current_release=None, current_instance=None)
    with pytest.raises(ValidationError, match="Nothing is deployed yet"):
        formation.scale(Site.objects.get(pk=site.pk), {"worker": 1}, Recorder())
    assert Site.objects.get(pk=site.pk).formation == {}


def test_it_refuses_a_formation_over_the_plans_limit_and_keeps_the_old_one():
    site, recorder = deployed(plan="standard"), Recorder()  # standard: 3
    formation.scale(site, {"worker": 2}, recorder)
    with pytest.raises(ValidationError, match=r"Your plan \(Standard\) allows 3 process containers .* asks for 4"):
        formation.scale(site, {"clock": 2}, recorder)
    site.refresh_from_db()
    assert site.formation == {"worker": 2} and recorder.converged == [site.pk]
    formation.scale(site, {"worker": 1, "clock": 2}, recorder)  # a swap within the limit is fine


def test_it_refuses_containers_the_web_hosts_memory_cannot_hold():
    site = deployed(plan="standard", host_memory=1536)  # the web instance holds 512 of it
    formation.scale(site, {"worker": 2}, Recorder())  # 512 + 2 x 512 = 1536: fits exactly
    Instance.objects.create(host=site.current_instance.host, name="site-shop-v1-worker-1-d1", site_label="shop",
                            release_label="v1", process="worker", state="running", memory_mb=1024)
    with pytest.raises(NoRoomOnHost, match="Host h1 has no room for 512 MB"):
        formation.scale(site, {"worker": 3}, Recorder())
    assert Site.objects.get(pk=site.pk).formation == {"worker": 2}


def test_it_places_a_deployment_where_the_web_instance_and_its_workers_fit():
    site = deployed(plan="standard", host_memory=1024)
    Instance.objects.filter(pk=site.current_instance.pk).update(state="stopped")  # the host is empty
    assert machine._admit(site).name == "h1"  # one web container of 512 fits in 1024
    Site.objects.filter(pk=site.pk).update(formation={"worker": 2})  # three do not
    with pytest.raises(NoHostAvailable, match="1536 MB"):
        machine._admit(Site.objects.get(pk=site.pk))


def test_a_type_the_procfile_dropped_no_longer_holds_the_plans_limit():
    site, recorder = deployed(plan="standard"), Recorder()
    Site.objects.filter(pk=site.pk).update(formation={"mailer": 3})  # scaled when an older Procfile had it
    formation.scale(site, {"worker": 3}, recorder)
    assert Site.objects.get(pk=site.pk).formation == {"worker": 3}


def test_a_smaller_plan_runs_only_as_many_as_it_allows():
    site = deployed(plan="standard")
    Site.objects.filter(pk=site.pk).update(formation={"clock": 1, "worker": 3})  # 4: scaled before a downgrade
    wanted = formation.wanted(Site.objects.get(pk=site.pk))
    assert sorted(wanted.values()) == [("clock", 1), ("worker", 1), ("worker", 2)]


# --- which containers should run -----------------------------------------------------------------


def test_it_names_the_wanted_containers_after_the_live_deployment():
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 2, "mail_out": 1, "gone": 3})
    site = Site.objects.get(pk=site.pk)
    d = live_deployment_id(site)
    assert formation.wanted(site) == {
        f"site-shop-v1-worker-1-d{d}": ("worker", 1), f"site-shop-v1-worker-2-d{d}": ("worker", 2),
        # `_` is not allowed in a container's label: a hash keeps mail_out and mail-out apart
        f"site-shop-v1-mail-out-{formation.instance_label('mail_out', 1, d).split('-')[2]}-1-d{d}": ("mail_out", 1),
    }
    assert formation.instance_label("mail_out", 1, d) != formation.instance_label("mail-out", 1, d)


@pytest.mark.parametrize("change", ["stopped", "suspended", "no instance"])
def test_it_wants_nothing_of_a_stopped_or_suspended_site(change):
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 2})
    if change == "stopped":
        Site.objects.filter(pk=site.pk).update(desired_state="stopped")
    elif change == "suspended":
        site.organization.__class__.objects.filter(pk=site.organization_id).update(suspended=True)
    else:
        Site.objects.filter(pk=site.pk).update(current_instance=None)
    assert formation.wanted(Site.objects.get(pk=site.pk)) == {}


def test_reconcile_removes_old_and_scaled_away_processes_and_keeps_the_wanted_ones():
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    d, host = live_deployment_id(site), site.current_instance.host

    def process(name: str) -> Instance:
        return Instance.objects.create(host=host, name=name, site_label="shop", release_label="v1",
                                       process="worker", state="running")
    keep = process(f"site-shop-v1-worker-1-d{d}")
    scaled_away = process(f"site-shop-v1-worker-2-d{d}")
    old_generation = process("site-shop-v0-worker-1-d1")
    running = list(Instance.objects.filter(state="running"))
    assert set(formation.unwanted_processes(Instance, running)) == {scaled_away, old_generation}
    # The web instances' judge leaves processes alone, though they are named after a deployment.
    Deployment.objects.filter(pk=d).update(finished_at=timezone.now() - timezone.timedelta(days=1))
    assert keep not in healing.unwanted_instances(Instance, running)


# --- the agent's converge, with Docker faked at our interface ------------------------------------


class FakeEngine:
    def __init__(self, crash: set[str] = frozenset()) -> None:
        self.started: list[ContainerSpec] = []
        self.crash = crash

    def start(self, spec: ContainerSpec) -> ContainerState:
        self.started.append(spec)
        return ContainerState(name=spec.name, id="c", status="running", running=True, exit_code=None,
                              oom_killed=False, labels=spec.all_labels, host_port=None, address="172.30.0.7")

    def inspect(self, name: str) -> dict:
        crashed = name in self.crash
        return {"State": {"Running": not crashed, "Restarting": crashed, "ExitCode": 1 if crashed else 0},
                "RestartCount": 2 if crashed else 0}

    def logs(self, name: str, tail: int = 100) -> str:
        return "Traceback...\nKeyError: 'QUEUE_URL'\n"

    def remove(self, name: str) -> None:
        pass


@pytest.fixture
def agent(monkeypatch, tmp_path):
    monkeypatch.setattr(processes, "SETTLE_SECONDS", 0)
    base = dict(image="runtime-python:x", limits=ResourceLimits(memory_mb=512, cpu_millicores=500, pids=64),
                slug_dir=tmp_path, data_dir=tmp_path, env={"A": "1"}, network="hosting-sites", uid=20001)
    monkeypatch.setattr(processes, "release_container",
                        lambda site, release, host, engine: ({**base, "site": site.name, "release": release.label},
                                                             ["uploads"], None))


def test_converge_starts_the_missing_processes_beside_the_web_one_and_stops_the_old(agent):
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 2})
    old = Instance.objects.create(host=site.current_instance.host, name="site-shop-v0-worker-1-d1", site_label="shop",
                                  release_label="v0", process="worker", state="running")
    engine, stopped = FakeEngine(), []
    started = processes.converge(site.pk, site.current_instance.host, engine, stop=stopped.append)
    d = live_deployment_id(site)
    assert started == [f"site-shop-v1-worker-1-d{d}", f"site-shop-v1-worker-2-d{d}"]
    spec = engine.started[0]
    assert spec.host_port is None and spec.listens is False  # no port published, no probe of $PORT
    assert spec.env == {"A": "1", "DYNO": "worker.1"}
    assert spec.command[-3:] == ("bash", "-c", "python worker.py") and "uploads" in spec.command
    rows = Instance.objects.filter(name__in=started)
    assert {(r.process, r.state, r.port, r.memory_mb) for r in rows} == {("worker", "running", None, 512)}
    assert stopped == [old]
    # Again: everything wanted runs already; nothing starts twice.
    assert processes.converge(site.pk, site.current_instance.host, engine, stop=stopped.append) == []
    assert len(engine.started) == 2


def test_converge_on_another_host_than_the_web_ones_starts_nothing(agent):
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    other = Host.objects.create(name="h2", memory_mb=8192, cpus=4, last_heartbeat=timezone.now())
    assert processes.converge(site.pk, other, FakeEngine()) == []


def test_converge_without_room_starts_nothing_and_tells_the_customer_once(agent):
    site = deployed(host_memory=1024)
    Site.objects.filter(pk=site.pk).update(formation={"worker": 2})  # 512 + 1024 > 1024
    for _ in range(2):
        assert processes.converge(site.pk, site.current_instance.host, FakeEngine()) == []
    event = AuditEvent.objects.get(action="site.processes_waiting")
    assert "no room for 1024 MB" in event.detail["reason"]


def test_a_process_that_does_not_stay_up_is_reported_with_its_last_lines(agent):
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    name = f"site-shop-v1-worker-1-d{live_deployment_id(site)}"
    processes.converge(site.pk, site.current_instance.host, FakeEngine(crash={name}))
    event = AuditEvent.objects.get(action="site.process_crashed")
    assert event.target == name and event.detail["exit_code"] == 1 and "QUEUE_URL" in event.detail["output"]


def test_after_each_reconcile_the_hosts_sites_get_their_missing_processes(agent):
    site = deployed()
    deployed("blog")  # no formation: not touched
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    assert processes.start_missing_after_reconcile(Host, host=site.current_instance.host, engine=FakeEngine()) == 1


# --- the API -------------------------------------------------------------------------------------


def test_the_api_shows_and_scales_the_formation_and_explains_a_refusal(world):
    owner = world["client"]("owner")
    assert owner.get("/api/v1/sites/shop/formation/").json() == {
        "processes": [{"type": "worker", "command": "sh worker.sh", "quantity": 0, "running": 0}],
        "max_processes": 1}  # the starter plan
    scaled = owner.patch("/api/v1/sites/shop/formation/", {"worker": 1}, format="json")
    assert scaled.status_code == 200 and scaled.json()["processes"][0]["quantity"] == 1
    over = owner.patch("/api/v1/sites/shop/formation/", {"worker": 2}, format="json")
    assert over.status_code == 400 and "allows 1 process containers" in str(over.json())
    unknown = owner.patch("/api/v1/sites/shop/formation/", {"wrker": 1}, format="json")
    assert unknown.status_code == 400 and "no 'wrker' process (it declares worker)" in str(unknown.json())
    assert Site.objects.get(name="shop").formation == {"worker": 1}


def test_two_starts_of_the_same_process_start_one_container(tmp_path):
    """A scale and a reconcile converging at once: the row is the claim."""
    from hosting import instances as fleet  # (the fleet's entry point, tested here for processes)
    host = Host.objects.create(name="h9", memory_mb=8192, cpus=4, last_heartbeat=timezone.now())
    spec = ContainerSpec(site="shop", release="v1", instance="worker-1-d3", image="i", command=("true",),
                         limits=ResourceLimits(memory_mb=64, cpu_millicores=100, pids=16), slug_dir=tmp_path,
                         data_dir=None, host_port=None)
    engine = FakeEngine()
    assert fleet.start_process(engine, host, spec, "worker").state == "running"
    assert fleet.start_process(engine, host, spec, "worker") is None
    assert len(engine.started) == 1
    Instance.objects.filter(name=spec.name).update(state="failed")  # lost: the next start takes the row again
    assert fleet.start_process(engine, host, spec, "worker") is not None and len(engine.started) == 2


# --- the portal ----------------------------------------------------------------------------------


def test_the_overview_shows_the_process_types_and_a_deployer_scales_them(world):
    from tests.unit.portal_client import signed_in  # (the portal's client, only these tests need it)
    page = signed_in("developer").get("/sites/shop/").content.decode()
    assert 'id="scale-worker" name="worker" value="0"' in page and "sh worker.sh" in page
    answer = signed_in("developer").post("/sites/shop/formation/", {"worker": "1"}, follow=True)
    assert "Scaled shop: worker=1" in answer.content.decode()
    assert Site.objects.get(name="shop").formation == {"worker": 1}
    over = signed_in("developer").post("/sites/shop/formation/", {"worker": "2"}, follow=True).content.decode()
    assert "allows 1 process containers" in over
    bad = signed_in("developer").post("/sites/shop/formation/", {"worker": "two"}, follow=True).content.decode()
    assert "must be a whole number" in bad
    viewer = signed_in("viewer")
    assert 'name="worker" value="1"\n                   min="0" max="1" inputmode="numeric" disabled' in viewer.get(
        "/sites/shop/").content.decode()
    assert viewer.post("/sites/shop/formation/", {"worker": "0"}).status_code == 403
    assert signed_in("outsider").post("/sites/shop/formation/", {"worker": "0"}).status_code == 404
    assert Site.objects.get(name="shop").formation == {"worker": 1}


def test_the_logs_of_a_worker_are_read_from_its_own_container(world, monkeypatch):
    from sites import runtime_logs  # (only this test reads logs)

    class Engine:
        def __init__(self, host, container, timeout) -> None:
            self.container = container

        def logs(self, name, tail=100):
            return f"lines of {name}\n"

        def close(self) -> None:
            pass

    monkeypatch.setattr(runtime_logs, "instance_engine", Engine)
    site = world["site"]
    host = Host.objects.get(name="h1")
    web = Instance.objects.create(host=host, name=f"site-shop-v1-d{world['deployment'].pk}", site_label="shop",
                                  release_label="v1", state="running")
    Site.objects.filter(pk=site.pk).update(current_instance=web, formation={"worker": 1})
    worker = Instance.objects.create(host=host, name=f"site-shop-v1-worker-1-d{world['deployment'].pk}",
                                     site_label="shop", release_label="v1", process="worker", state="running")
    viewer = world["client"]("viewer")
    worker_logs = viewer.get("/api/v1/sites/shop/logs/", {"process": "worker.1"}).json()
    assert worker_logs == {"lines": [f"lines of {worker.name}"], "note": ""}
    assert viewer.get("/api/v1/sites/shop/logs/").json() == {"lines": [f"lines of {web.name}"], "note": ""}
    missing = viewer.get("/api/v1/sites/shop/logs/", {"process": "worker.2"})
    assert missing.status_code == 400 and "No process worker.2 runs; this site runs web, worker.1" in missing.text


def test_a_new_releases_processes_take_the_room_of_the_ones_they_replace(agent):
    site = deployed(host_memory=1536)  # the web instance holds 512
    Site.objects.filter(pk=site.pk).update(formation={"worker": 2})
    Instance.objects.create(host=site.current_instance.host, name="site-shop-v0-worker-1-d1", site_label="shop",
                            release_label="v0", process="worker", state="running", memory_mb=512)
    stopped = []
    started = processes.converge(site.pk, site.current_instance.host, FakeEngine(), stop=stopped.append)
    assert len(started) == 2 and len(stopped) == 1  # 512 free + the 512 of the one replaced


# --- stopping with the site ----------------------------------------------------------------------


class Stops:
    def __init__(self) -> None:
        self.stopped: list[str] = []

    def stop_instance(self, instance, delay: int = 0) -> None:
        self.stopped.append(instance.name)


def with_a_worker() -> tuple[Site, Instance]:
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    worker = Instance.objects.create(host=site.current_instance.host, site_label="shop", release_label="v1",
                                     name=f"site-shop-v1-worker-1-d{live_deployment_id(site)}", process="worker",
                                     state="running")
    return site, worker


def test_stopping_the_site_stops_its_workers(monkeypatch):
    from sites.pipeline import tasks as pipeline_tasks  # (the stop task itself is what is tested)
    site, worker = with_a_worker()
    stops = Stops()
    monkeypatch.setattr(pipeline_tasks, "SENDER", stops)
    pipeline_tasks.stop_site(site.pk)
    assert sorted(stops.stopped) == sorted([site.current_instance.name, worker.name])


def test_suspending_the_organization_stops_its_workers(monkeypatch):
    site, worker = with_a_worker()
    stops = Stops()
    monkeypatch.setattr(services, "SENDER", stops)
    services.suspend_organization(site.organization, "unpaid invoice 42")
    assert sorted(stops.stopped) == sorted([site.current_instance.name, worker.name])


def test_after_a_switch_the_agent_of_the_new_web_host_converges_the_processes():
    site, recorder = deployed(), Recorder()
    formation.after_switch(site.current_instance.pk, recorder)
    assert recorder.converged == []  # no formation, no process: nothing to do
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    formation.after_switch(site.current_instance.pk + 1000, recorder)  # not the site's instance (any more)
    assert recorder.converged == []
    formation.after_switch(site.current_instance.pk, recorder)
    assert recorder.converged == [site.pk]


def test_a_switch_during_a_converge_keeps_the_new_web_instances_processes(agent):
    """A drain right after a scale: while this converge starts the old instance's worker, the site
    moves and the new host starts the new instance's. This converge must not stop that one."""
    site = deployed()
    Site.objects.filter(pk=site.pk).update(formation={"worker": 1})
    other = Host.objects.create(name="h2", memory_mb=8192, cpus=4, last_heartbeat=timezone.now())
    moved = Deployment.objects.create(site=site, trigger="restart", release=site.current_release, state="succeeded")
    new_web = Instance.objects.create(host=other, name=f"site-shop-v1-d{moved.pk}", site_label="shop",
                                      release_label="v1", state="running")

    class SwitchingEngine(FakeEngine):
        def start(self, spec):
            state = super().start(spec)
            Site.objects.filter(pk=site.pk).update(current_instance=new_web)  # the drain's switch, meanwhile
            Instance.objects.create(host=other, name=f"site-shop-v1-worker-1-d{moved.pk}", site_label="shop",
                                    release_label="v1", process="worker", state="running")
            return state

    stopped = []
    processes.converge(site.pk, site.current_instance.host, SwitchingEngine(), stop=stopped.append)
    assert [instance.name for instance in stopped] == [f"site-shop-v1-worker-1-d{live_deployment_id(site)}"]
