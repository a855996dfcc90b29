"""One-off commands and scheduled jobs at their own interfaces: what may start a run and where,
commands checked like Procfile lines, overlapping runs of a job skipped and recorded, each job
started once per time, outcomes recorded as the customer reads them, runs whose agent went away,
and the API's tenancy (404) and roles (who may deploy may run). The Celery sender is a recorder;
the real containers are tests/integration/test_runs.py's."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as tz
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import get_or_create_user
from hosting.models import Host, Instance
from hosting.spec import OneOffResult, ResourceLimits
from sites import runs, scheduler, schedules, services
from sites.models import Run, ScheduledJob, Site
from sites.pipeline import deletion
from sites.run_tasks import SENDER as CELERY_SENDER
from sites.validation import AppManifest, parse_hosting_toml

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=tz.utc)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def run(self, run: Run) -> None:
        self.sent.append(run.pk)


@pytest.fixture
def sender() -> Recorder:
    return Recorder()


@pytest.fixture
def shop(world) -> Site:
    return Site.objects.select_related("plan", "organization").get(pk=world["site"].pk)


def test_it_starts_a_run_of_the_current_release_with_the_plans_time_limit(shop, sender):
    run = runs.start_run(shop, "  python manage.py migrate ", Run.Trigger.API, sender)
    assert (run.state, run.command, run.release, run.host_name) == ("queued", "python manage.py migrate",
                                                                     shop.current_release, "h1")
    assert run.timeout_seconds == shop.plan.run_timeout_seconds
    assert sender.sent == [run.pk]


def test_it_runs_on_the_host_of_the_sites_instance_where_its_data_is(shop, sender):
    Host.objects.create(name="h2", cpus=4, memory_mb=32000, last_heartbeat=timezone.now())  # more room than h1
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running")
    Site.objects.filter(pk=shop.pk).update(current_instance=instance)
    assert runs.start_run(shop, "ls /data", Run.Trigger.API, sender).host_name == "h1"
    Host.objects.filter(name="h1").update(down_since=timezone.now())  # its host is down: another has room
    assert runs.start_run(shop, "ls /data", Run.Trigger.API, sender).host_name == "h2"


@pytest.mark.parametrize("command, says", [
    ("", "Give a command"),
    ("   ", "Give a command"),
    ("echo a\necho b", "one line"),
    ("echo \x1b[31m", "control characters"),
    ("x" * 2001, "at most 2000 characters"),
    (["echo"], "Give a command"),
])
def test_it_refuses_a_command_a_procfile_line_could_not_be(shop, sender, command, says):
    with pytest.raises(ValidationError) as refused:
        runs.start_run(shop, command, Run.Trigger.API, sender)
    assert says in " ".join(refused.value.messages)
    assert not Run.objects.exists() and sender.sent == []


def test_it_refuses_a_run_when_nothing_is_deployed(shop, sender):
    Site.objects.filter(pk=shop.pk).update(current_release=None)
    with pytest.raises(ValidationError, match="Nothing is deployed yet"):
        runs.start_run(shop, "true", Run.Trigger.API, sender)


def test_it_holds_a_site_to_its_plans_runs_at_once(shop, sender):
    for _ in range(shop.plan.max_parallel_runs):
        runs.start_run(shop, "sleep 100", Run.Trigger.API, sender)
    with pytest.raises(ValidationError, match="the most its plan allows at once"):
        runs.start_run(shop, "sleep 100", Run.Trigger.API, sender)
    Run.objects.filter(site=shop).update(state=Run.State.SUCCEEDED)
    runs.start_run(shop, "sleep 100", Run.Trigger.API, sender)


# --- outcomes ---------------------------------------------------------------------------------


class FakeEngine:
    def __init__(self, result: OneOffResult, lines: list[str]) -> None:
        self.result, self.lines, self.specs = result, lines, []

    def run_once(self, spec, timeout, on_line=None, keep=False) -> OneOffResult:
        self.specs.append((spec, timeout))
        for line in self.lines:
            on_line(line)
        return self.result


@pytest.fixture
def executed(shop, sender, monkeypatch, tmp_path):
    """Run a queued run of `command` on a fake engine that returns `result`: the run, its spec."""
    base = dict(site="shop", release="v1", image="hosting/runtime-static:x", limits=ResourceLimits(256, 250, 128),
                slug_dir=tmp_path, data_dir=tmp_path, uid=20001)
    monkeypatch.setattr(runs, "release_container", lambda site, release, host, engine: (base, [], None))

    def execute(command: str, result: OneOffResult, lines: list[str]):
        run = runs.start_run(shop, command, Run.Trigger.API, sender)
        claimed = runs.claim(run.pk, "task-1")
        engine = FakeEngine(result, lines)
        runs.execute(claimed, Host.objects.get(name="h1"), engine)
        run.refresh_from_db()
        return run, engine.specs[0]

    return execute


def test_it_runs_the_command_with_bash_inside_the_sites_container_and_keeps_its_output(executed):
    run, (spec, timeout) = executed("echo hello; exit 0", OneOffResult(0, False, "", False), ["hello"])
    assert spec.command == ("bash", "-c", "echo hello; exit 0")
    assert spec.host_port is None and spec.uid == 20001 and spec.instance == f"run{run.pk}"
    assert timeout == run.timeout_seconds
    assert (run.state, run.exit_code, run.error) == ("succeeded", 0, "")
    assert "hello\n" in run.log and run.log.rstrip().endswith(f"Run #{run.pk} exited with code 0")


def test_it_says_a_run_past_its_time_limit_was_killed(executed):
    run, _ = executed("sleep 9999", OneOffResult(None, False, "", True), [])
    assert (run.state, run.exit_code) == ("timed_out", None)
    assert f"Killed after {run.timeout_seconds} s: the plan's time limit" in run.error
    assert run.error in run.log


def test_it_records_a_failed_commands_exit_code(executed):
    run, _ = executed("exit 3", OneOffResult(3, False, "", False), [])
    assert (run.state, run.exit_code, run.error) == ("failed", 3, "Exited with code 3.")


def test_it_never_runs_a_command_twice(shop, sender):
    run = runs.start_run(shop, "python manage.py migrate", Run.Trigger.API, sender)
    assert runs.claim(run.pk, "task-1") is not None
    assert runs.claim(run.pk, "task-1") is None  # a redelivered message does nothing
    assert runs.claim(run.pk, "task-2") is None


def test_it_fails_runs_whose_agent_went_away(shop, sender):
    run = runs.start_run(shop, "sleep 10", Run.Trigger.API, sender)
    runs.claim(run.pk, "task-1")
    assert runs.fail_lost_runs(timezone.now()) == 0
    later = timezone.now() + timedelta(seconds=run.timeout_seconds) + runs.LOST_AFTER + timedelta(seconds=1)
    assert runs.fail_lost_runs(later) == 1
    run.refresh_from_db()
    assert run.state == "failed" and "lost this run" in run.error


# --- scheduled jobs ---------------------------------------------------------------------------


def _job(shop, schedule="* * * * *", name="tick") -> ScheduledJob:
    job = schedules.add_job(shop, name, schedule, "date")
    ScheduledJob.objects.filter(pk=job.pk).update(next_run_at=NOW)
    return job


def test_it_starts_a_due_job_once_and_sets_its_next_time(shop, sender):
    job = _job(shop, "*/5 * * * *")
    assert scheduler.tick(sender, NOW) == 1
    assert scheduler.tick(sender, NOW) == 0  # a second tick at the same time: nothing is due any more
    job.refresh_from_db()
    assert job.next_run_at == NOW + timedelta(minutes=5)
    run = Run.objects.get(job=job)
    assert (run.trigger, run.state, run.command) == ("schedule", "queued", "date") and sender.sent == [run.pk]


def test_it_starts_a_job_once_when_two_ticks_find_it_due(shop, sender):
    """A slow tick and the next one both listed the job as due: the second finds it taken."""
    job = _job(shop)
    scheduler._start_due(job.pk, NOW, sender)
    scheduler._start_due(job.pk, NOW, sender)
    assert Run.objects.filter(job=job).count() == 1


def test_it_skips_a_run_while_the_jobs_previous_run_runs_and_records_it(shop, sender):
    job = _job(shop)
    scheduler.tick(sender, NOW)
    first = Run.objects.get(job=job)
    runs.claim(first.pk, "task-1")
    ScheduledJob.objects.filter(pk=job.pk).update(next_run_at=NOW + timedelta(minutes=1))
    scheduler.tick(sender, NOW + timedelta(minutes=1))
    skipped = Run.objects.filter(job=job).exclude(pk=first.pk).get()
    assert skipped.state == "skipped" and f"run #{first.pk} of this job is still running" in skipped.error
    assert "Skipped" in skipped.log and sender.sent == [first.pk]
    runs.finish(first, Run.State.SUCCEEDED, "", 0)
    scheduler.tick(sender, NOW + timedelta(minutes=2))
    assert Run.objects.filter(job=job, state="queued").count() == 1  # the next one runs again


def test_it_skips_the_jobs_of_a_stopped_site(shop, sender):
    job = _job(shop)
    Site.objects.filter(pk=shop.pk).update(desired_state=Site.DesiredState.STOPPED)
    scheduler.tick(sender, NOW)
    assert Run.objects.get(job=job).error == "Skipped: the site is stopped." and sender.sent == []


def test_it_holds_jobs_to_the_plans_limit_and_refuses_a_bad_schedule(shop):
    for n in range(shop.plan.max_scheduled_jobs):
        schedules.add_job(shop, f"job{n}", "@hourly", "true")
    with pytest.raises(ValidationError, match="scheduled jobs per site"):
        schedules.add_job(shop, "onemore", "@hourly", "true")
    with pytest.raises(ValidationError, match="The schedule of job late: The hour field: 25 is out of range"):
        schedules.add_job(shop, "late", "0 25 * * *", "true")
    with pytest.raises(ValidationError, match="not a valid job name"):
        schedules.add_job(shop, "Bad Name", "@hourly", "true")


def test_it_lets_the_apis_job_win_over_hosting_tomls(shop):
    slug = shop.current_release.slug
    slug.cron = [{"name": "report", "schedule": "0 1 * * *", "command": "from-repo"},
                 {"name": "clean", "schedule": "0 2 * * *", "command": "clean-repo"}]
    assert schedules.adopt_repository_jobs(shop, slug) == []
    assert ScheduledJob.objects.get(site=shop, name="report").source == "repository"
    schedules.add_job(shop, "report", "0 5 * * *", "from-api")  # replaces the repository's
    notes = schedules.adopt_repository_jobs(shop, slug)  # the next release declares it again
    assert notes == ["hosting.toml's job report is not used: the site has its own job of that name."]
    assert ScheduledJob.objects.get(site=shop, name="report").command == "from-api"
    slug.cron = slug.cron[:1]  # a release without `clean`: the repository's job goes
    schedules.adopt_repository_jobs(shop, slug)
    assert sorted(ScheduledJob.objects.filter(site=shop).values_list("name", flat=True)) == ["report"]


# --- the API: tenancy and roles ---------------------------------------------------------------


@pytest.fixture
def no_celery(monkeypatch):
    sent = Recorder()
    monkeypatch.setattr(CELERY_SENDER, "run", sent.run)
    return sent


def test_it_answers_404_for_another_organizations_site_run_and_job(world, no_celery):
    run = runs.start_run(world["site"], "true", Run.Trigger.API, no_celery)
    schedules.add_job(world["site"], "nightly", "@daily", "true")
    outsider = world["client"]("outsider")
    for url in ("/api/v1/sites/shop/runs/", f"/api/v1/sites/shop/runs/{run.pk}/", "/api/v1/sites/shop/jobs/",
                "/api/v1/sites/shop/jobs/nightly/"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post("/api/v1/sites/shop/runs/", {"command": "id"}, format="json").status_code == 404
    assert outsider.delete("/api/v1/sites/shop/jobs/nightly/").status_code == 404
    # Its own site's address with the other site's run number: 404 too.
    assert outsider.get(f"/api/v1/sites/gshop/runs/{run.pk}/").status_code == 404
    services.create_site(world["org"], "blog")  # and within one organization, a run is its own site's
    assert world["client"]("owner").get(f"/api/v1/sites/blog/runs/{run.pk}/").status_code == 404
    assert Run.objects.count() == 1 and ScheduledJob.objects.count() == 1


def test_it_lets_who_may_deploy_run_and_schedule_and_viewers_read(world, no_celery):
    viewer, developer = world["client"]("viewer"), world["client"]("developer")
    assert viewer.post("/api/v1/sites/shop/runs/", {"command": "id"}, format="json").status_code == 403
    assert viewer.post("/api/v1/sites/shop/jobs/", {"name": "a", "schedule": "@daily", "command": "id"},
                       format="json").status_code == 403
    started = developer.post("/api/v1/sites/shop/runs/", {"command": "id", "attach": False}, format="json")
    assert started.status_code == 202 and started.json()["state"] == "queued"
    made = developer.post("/api/v1/sites/shop/jobs/", {"name": "a", "schedule": "@daily", "command": "id"},
                          format="json")
    assert made.status_code == 201 and made.json()["schedule"] == "@daily"
    shown = viewer.get(f"/api/v1/sites/shop/runs/{started.json()['id']}/").json()
    assert shown["command"] == "id" and "-----> Run #" in shown["output"]
    assert viewer.get("/api/v1/sites/shop/jobs/").json()[0]["name"] == "a"
    assert viewer.delete("/api/v1/sites/shop/jobs/a/").status_code == 403
    assert developer.delete("/api/v1/sites/shop/jobs/a/").status_code == 204


def test_it_answers_a_bad_job_with_the_reason(world, no_celery):
    answer = world["client"]("owner").post("/api/v1/sites/shop/jobs/", {"name": "a", "schedule": "* * *",
                                                                         "command": "id"}, format="json")
    assert answer.status_code == 400 and "has 3 fields" in str(answer.json())


def test_it_stops_the_runs_an_agent_was_running_when_it_starts_again(shop, sender):
    run = runs.start_run(shop, "sleep 9999", Run.Trigger.API, sender)
    runs.claim(run.pk, "task-1")
    waiting = runs.start_run(shop, "true", Run.Trigger.API, sender)  # its message is still to come

    class Containers:
        removed: list[str] = []

        def list_site_containers(self, site=None):
            return [SimpleNamespace(name=f"site-shop-v1-run{n}", labels={"hosting.instance": f"run{n}"})
                    for n in (run.pk, 99999)]  # 99999: not a run of this platform's host

        def remove(self, name):
            self.removed.append(name)

    engine = Containers()
    assert runs.stop_interrupted_runs(None, Host.objects.get(name="h1"), engine) == 1
    assert engine.removed == [f"site-shop-v1-run{run.pk}"]
    run.refresh_from_db()
    assert run.state == "failed" and "agent of host h1 restarted" in run.error
    assert Run.objects.get(pk=waiting.pk).state == "queued"


def test_it_fails_the_runs_of_a_host_that_went_down(shop, sender):
    running = runs.start_run(shop, "sleep 9999", Run.Trigger.API, sender)
    runs.claim(running.pk, "task-1")
    waiting = runs.start_run(shop, "true", Run.Trigger.API, sender)
    assert runs.fail_runs_on_down_hosts(None, [Host.objects.get(name="h1")]) == 2
    for run in (running, waiting):
        run.refresh_from_db()
        assert run.state == "failed" and "host h1 stopped answering" in run.error
    assert runs.claim(waiting.pk, "task-2") is None  # its message, delivered when the host is back, does nothing


def test_it_purges_the_containers_of_a_deleted_sites_running_commands(shop, sender):
    running = runs.start_run(shop, "sleep 100", Run.Trigger.API, sender)
    done = runs.start_run(shop, "true", Run.Trigger.API, sender)
    runs.finish(done, Run.State.SUCCEEDED, "", 0)
    assert f"site-shop-v1-run{running.pk}" in deletion.leftovers(shop)["instances"]
    assert f"site-shop-v1-run{done.pk}" not in deletion.leftovers(shop)["instances"]


def test_it_records_who_ran_what_in_the_audit_log(shop, sender):
    owner = get_or_create_user("owner@example.com")
    run = runs.start_run(shop, "python manage.py migrate", Run.Trigger.API, sender, by=owner)
    event = AuditEvent.objects.get(action="site.run")
    assert (event.target, event.site_name, event.actor, event.detail["command"]) == (
        f"run #{run.pk}", "shop", owner, "python manage.py migrate")


# --- hosting.toml's [[cron]] ------------------------------------------------------------------


def test_it_reads_cron_entries_from_hosting_toml():
    manifest = parse_hosting_toml('[[cron]]\nname = "report"\nschedule = "0  3 * * *"\ncommand = " ./report "\n',
                                  AppManifest())
    assert manifest.cron == [{"name": "report", "schedule": "0 3 * * *", "command": "./report"}]


@pytest.mark.parametrize("text, says", [
    ('[[cron]]\nname = "a"\nschedule = "@daily"\n', "entry 1 needs exactly name, schedule and command"),
    ('[[cron]]\nname = "a"\nschedule = "@daily"\ncommand = "x"\nuser = "root"\n', "needs exactly"),
    ('[[cron]]\nname = "a"\nschedule = "0 24 * * *"\ncommand = "x"\n', "entry 1: The schedule of job a: The hour"),
    ('[[cron]]\nname = "A b"\nschedule = "@daily"\ncommand = "x"\n', "not a valid job name"),
    ('[[cron]]\nname = "a"\nschedule = "@daily"\ncommand = "x\\ny"\n', "without control characters"),
    ('[[cron]]\nname = "a"\nschedule = "@daily"\ncommand = "x"\n' * 2, "the job a is declared twice"),
    ('cron = "0 3 * * *"\n', "cron is a list of [[cron]] tables"),
    ("".join(f'[[cron]]\nname = "a{n}"\nschedule = "@daily"\ncommand = "x"\n' for n in range(51)), "at most 50"),
])
def test_it_refuses_bad_cron_entries_in_hosting_toml(text, says):
    with pytest.raises(ValidationError) as refused:
        parse_hosting_toml(text, AppManifest())
    assert says in " ".join(refused.value.messages)
