"""Backup on one machine, restore onto an empty one: the restored platform serves the same sites
with the same releases. Two whole platforms (tests/integration/support/separate_platform.py), each
with its own database, Redis, data directory and edge, on the one Docker daemon."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.support.deploying import (
    api,
    commit_all,
    create_site,
    finished_deployment,
    push,
    served,
    workdir_with,
)
from tests.integration.support.processes import wait_for
from tests.integration.support.separate_platform import SeparatePlatform, customer_of


@pytest.fixture
def machines(engine):
    """Two platforms that would be one machine before and after its loss: the same host name."""
    top = Path(settings.DATA_DIR).parent  # the test run's own directory, which the platform user passes
    host_name = f"backup-{uuid.uuid4().hex[:6]}"
    made: list[SeparatePlatform] = []

    def machine(name: str) -> SeparatePlatform:
        made.append(SeparatePlatform(top / f"{host_name}-{name}", host_name))
        return made[-1]

    sites: list[str] = []
    yield machine, sites
    for platform in made:
        platform.stop()
    for name in sites:
        for container in engine.list_site_containers(name):
            engine.remove(container.name)
    for platform in made:
        platform.remove()


def _state(platform, customer, sites: list[str]) -> dict:
    """What a customer sees of each site: its current release, every release with its slug, and the page."""
    state = {}
    for name in sites:
        site = api(platform, customer, "GET", f"sites/{name}/").json()
        releases = api(platform, customer, "GET", f"sites/{name}/releases/").json()
        state[name] = {
            "current_release": site["current_release"],
            "releases": [(r["version"], r["slug"], r["description"]) for r in releases],
            "env": api(platform, customer, "GET", f"sites/{name}/env/").json(),
            "page": served(platform, name).text,
        }
    return state


def test_a_restored_platform_serves_the_same_sites_with_the_same_releases(machines, engine, tmp_path):
    machine, sites = machines
    original = machine("original")
    assert original.manage("migrate").returncode == 0
    customer = customer_of(original, f"acme-{uuid.uuid4().hex[:6]}")
    platform = original.start()
    deploy_env = (platform, {"owner": customer}, sites)

    twice = create_site(deploy_env, "twice")
    work = workdir_with(tmp_path, None, {"public/index.html": "twice, version one\n"})
    push(deploy_env, work, twice)
    (work / "public/index.html").write_text("twice, version two\n")
    commit_all(work, "two")
    push(deploy_env, work, twice)
    configured = create_site(deploy_env, "configured")
    push(deploy_env, workdir_with(tmp_path, None, {"index.html": "configured site\n"}), configured)
    # A config release: its env is encrypted with the FERNET_KEY, which must come back with the backup.
    changed = api(platform, customer, "POST", f"sites/{configured}/env/", json={"vars": {"GREETING": "hello"}})
    assert finished_deployment(platform, customer, configured, changed.json()["id"])["state"] == "succeeded"
    before = _state(platform, customer, sites)
    assert before[twice]["page"] == "twice, version two\n" and before[configured]["current_release"] == "v2"

    backup = original.manage("backup", "--output-dir", str(tmp_path / "backups"))
    assert backup.returncode == 0, backup.stderr
    archive = next((tmp_path / "backups").glob("backup-*.tar.gz"))

    # The machine is lost: its processes and its site containers are gone.
    original.stop()
    for name in sites:
        for container in engine.list_site_containers(name):
            engine.remove(container.name)

    fresh = machine("restored")
    restored = fresh.manage("restore", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    platform = fresh.start()

    for name in sites:
        wait_for(lambda: served(platform, name).text == before[name]["page"], 120, f"{name} to serve again")
    after = _state(platform, customer, sites)
    assert after == before
    # Earlier releases can still be rolled back to: their slugs came back too.
    rollback = api(platform, customer, "POST", f"sites/{twice}/rollback/", json={"release": 1})
    assert rollback.status_code == 202, rollback.text
    assert finished_deployment(platform, customer, twice, rollback.json()["id"])["state"] == "succeeded"
    assert served(platform, twice).text == "twice, version one\n"


def test_the_nightly_backup_runs_on_the_root_worker_of_the_proxy_queue(platform, transactional_db):
    from config.celery import app

    backups = platform.data_dir / "backups"
    before = set(backups.glob("backup-*.tar.gz"))
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-backup"]

    app.send_task(entry["task"], **entry["options"])  # what beat sends at BACKUP_HOUR

    made = wait_for(lambda: set(backups.glob("backup-*.tar.gz")) - before, 120, "the nightly backup")
    archive = made.pop()
    assert archive.stat().st_uid == 0 and archive.stat().st_mode & 0o777 == 0o600
    assert "backups.nightly_backup" in platform.output("edge_worker")
