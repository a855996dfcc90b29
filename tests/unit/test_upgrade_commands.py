"""`make upgrade` gives the control plane the new version's Procfile commands: a platform installed
before the package split ran `gunicorn hosting.wsgi` and `celery -A hosting`. The installed systemd
units are rewritten (then daemon-reload), and `make run`'s supervisord gets the new commands for
the control plane's programs only (a real supervisord here; its programs are `sleep`s)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from launcher import install_services, program_update, upgrade
from launcher.supervisor import Program, Supervisor


def old_units(unit_dir: Path, env_file: Path) -> None:
    """The units as an install from before the split wrote them."""
    install_services.write_installed_units(unit_dir, env_file)
    for path in unit_dir.glob("hosting-*.service"):
        path.write_text(path.read_text().replace("config.wsgi", "hosting.wsgi").replace("-A config", "-A hosting"))


def test_it_rewrites_the_installed_units_and_reloads_systemd_enabling_nothing(tmp_path, monkeypatch):
    env_file, unit_dir = tmp_path / "hosting.env", tmp_path / "units"
    env_file.write_text("DATA_DIR=/var/lib/hosting\nPLATFORM_USER=hosting\n")
    old_units(unit_dir, env_file)
    calls = []
    monkeypatch.setattr(upgrade, "systemctl", lambda *arguments: calls.append(arguments))

    changed = upgrade.refresh_units(unit_dir, env_file)

    assert "hosting-web.service" in changed and "hosting-worker.service" in changed
    web = (unit_dir / "hosting-web.service").read_text()
    assert "gunicorn config.wsgi" in web and "hosting.wsgi" not in web
    assert "-A config" in (unit_dir / "hosting-beat.service").read_text()
    assert calls == [("daemon-reload",)]
    assert upgrade.refresh_units(unit_dir, env_file) == [] and calls == [("daemon-reload",)]  # once


def marker_command(marker: Path, word: str) -> list[str]:
    return ["sh", "-c", f"echo {word} > {marker}; exec sleep 600"]


@pytest.fixture
def supervisor(tmp_path):
    programs = [Program("web", marker_command(tmp_path / "web", "old")),
                Program("worker", ["sleep", "600"]),
                Program("edge", marker_command(tmp_path / "edge", "old"), stop_signal="QUIT")]
    running = Supervisor(tmp_path / "supervisor", tmp_path / "log", programs)
    running.start({"PATH": "/usr/bin:/bin"})
    for name in running:
        running[name].wait_until(lambda name=name: running[name].running, timeout=20, what="running")
    yield running
    running.stop()


def test_supervisord_gets_new_commands_for_the_named_programs_only(supervisor, tmp_path):
    edge_pid = supervisor["edge"].pid
    new = [Program("web", marker_command(tmp_path / "web", "new")), Program("beat", ["sleep", "601"])]

    changes = program_update.update_programs(Supervisor.attach(supervisor.directory, Path("unused")), new, ["worker"])

    assert (changes.changed, changes.added, changes.removed) == (["web"], ["beat"], ["worker"])
    deadline = time.monotonic() + 10
    while (tmp_path / "web").read_text().strip() != "new" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "web").read_text().strip() == "new"
    states = {p["name"]: p["statename"] for p in supervisor.rpc.supervisor.getAllProcessInfo()}
    assert states == {"web": "RUNNING", "beat": "RUNNING", "edge": "RUNNING"}
    assert supervisor["edge"].pid == edge_pid and (tmp_path / "edge").read_text().strip() == "old"
    # The rewritten config is what a restarted supervisord would read: other settings kept.
    config = program_update._read(supervisor.config.read_text())
    assert config["program:edge"]["stopsignal"] == "QUIT" and "sleep 601" in config["program:beat"]["command"]
    assert not program_update.update_programs(Supervisor.attach(supervisor.directory, Path("unused")), new, [])


def test_the_upgrade_never_names_the_edge_or_the_services(monkeypatch, settings, tmp_path):
    seen = {}
    monkeypatch.setattr(upgrade, "update_programs",
                        lambda supervisor, programs, removed: seen.update(programs=programs, removed=removed)
                        or program_update.ProgramChanges())
    monkeypatch.setattr(upgrade, "platform_account", lambda name: install_services.platform_account("hosting"))
    running = Supervisor(tmp_path, tmp_path, [Program(name, []) for name in
                                             ("dockerd", "redis", "web", "edge", "old_process")])

    upgrade.refresh_supervised_commands(running)

    assert "edge" not in {p.name for p in seen["programs"]} and {"web", "worker", "agent"} <= {p.name for p in seen["programs"]}
    assert seen["removed"] == ["old_process"]
