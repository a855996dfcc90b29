"""The production install's systemd units (launcher.systemd), checked by systemd's own
`systemd-analyze verify` (systemd is not PID 1 here: the units are verified, not run)."""
from __future__ import annotations

import shlex
from pathlib import Path

from launcher import systemd
from core.data_dir import Account
from launcher.permissions import user_env
from launcher.install_services import write_units
from launcher.stack import BASE_DIR, ROOT_PROCESSES, read_procfile
from tests.systemd_verify import verify

ACCOUNT = Account("hosting", 999, 995, "/nonexistent")
PROCFILE = read_procfile(BASE_DIR / "Procfile")
CONTROL_UNITS = {systemd.unit_name(name) for name, _ in PROCFILE if name not in systemd.DATA_PLANE_PROCESSES}


def _installation(data_dir: str = "/var/lib/hosting", managed_redis: bool = True) -> systemd.Installation:
    return systemd.Installation(BASE_DIR, Path("/etc/hosting/hosting.env"), Path(data_dir), ACCOUNT, managed_redis)


def _parse(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each key with its values in order."""
    sections: dict[str, dict[str, list[str]]] = {}
    for line in text.splitlines():
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
    return sections


def _words(sections: dict, section: str, key: str) -> set[str]:
    return {word for value in sections.get(section, {}).get(key, []) for word in value.split()}


UNITS = {name: _parse(text) for name, text in systemd.render_units(_installation()).items()}


def test_it_writes_units_that_systemd_analyze_verify_accepts(tmp_path):
    write_units(tmp_path, systemd.render_units(_installation()))
    assert verify(tmp_path) == ""


def test_the_verify_check_can_fail(tmp_path):
    write_units(tmp_path, systemd.render_units(_installation()))
    web = tmp_path / "hosting-web.service"
    web.write_text(web.read_text().replace("RestartSec=2s", "RestartSecs=2s"))
    assert "Unknown key" in verify(tmp_path)


def test_it_has_a_service_for_every_procfile_entry():
    services = {name for name in UNITS if name.endswith(".service")}
    assert services == {systemd.unit_name(name) for name, _ in PROCFILE} | {systemd.PREPARE, systemd.REDIS}
    assert "hosting-edge-worker.service" in services


def test_it_runs_only_the_root_processes_as_root():
    for name, _ in PROCFILE:
        service = UNITS[systemd.unit_name(name)]["Service"]
        expected = "root" if name in ROOT_PROCESSES else "hosting"
        assert (service["User"], service["Group"]) == ([expected], [expected]), name
    assert UNITS[systemd.REDIS]["Service"]["User"] == ["hosting"]


def test_it_gives_platform_user_processes_their_home_and_only_the_docker_log_relay():
    expected = user_env({}, ACCOUNT, Path("/var/lib/hosting"))
    for name, _ in PROCFILE:
        environment = dict(value.split("=", 1) for value in UNITS[systemd.unit_name(name)]["Service"]["Environment"])
        if name in ROOT_PROCESSES:
            assert "DOCKER_HOST" not in environment, name
        else:
            assert {key: environment[key] for key in expected} == expected, name


def test_it_runs_the_procfile_command_from_the_venv_through_a_shell():
    for name, command in PROCFILE:
        exec_start = UNITS[systemd.unit_name(name)]["Service"]["ExecStart"][0]
        # systemd's escapes undone: %% and $$ reach the shell as % (celery's %h) and $ (${VAR:-default}).
        argv = shlex.split(exec_start.replace("%%", "%").replace("$$", "$"))
        program, _, arguments = command.partition(" ")
        assert argv[:2] == ["/bin/sh", "-c"], name
        assert argv[2] == f"exec {BASE_DIR / '.venv' / 'bin' / program} {arguments}", name
    assert "@%%h" in UNITS["hosting-worker.service"]["Service"]["ExecStart"][0]


def test_the_edge_does_not_depend_on_the_control_plane_docker_or_redis():
    edge = UNITS["hosting-edge.service"]["Unit"]
    strong = set().union(*(_words(UNITS["hosting-edge.service"], "Unit", key)
                           for key in ("Requires", "Requisite", "BindsTo", "PartOf")))
    assert not strong & (CONTROL_UNITS | {systemd.CONTROL_TARGET, systemd.DOCKER, systemd.REDIS})
    assert edge["PartOf"] == [systemd.PLATFORM_TARGET]
    assert {systemd.DOCKER, systemd.PREPARE} <= _words(UNITS["hosting-edge.service"], "Unit", "After")
    assert "hosting-edge.service" not in _words(UNITS[systemd.CONTROL_TARGET], "Unit", "Wants")
    assert "hosting-edge.service" in _words(UNITS[systemd.PLATFORM_TARGET], "Unit", "Wants")


def test_the_control_target_stops_and_restarts_every_other_process():
    assert _words(UNITS[systemd.CONTROL_TARGET], "Unit", "Wants") == CONTROL_UNITS
    for name in CONTROL_UNITS:
        assert UNITS[name]["Unit"]["PartOf"] == [systemd.CONTROL_TARGET], name
        assert {systemd.REDIS, systemd.PREPARE} <= _words(UNITS[name], "Unit", "After"), name
    for unit in UNITS.values():  # nothing may stop with a dependency: Wants= and After= only
        assert not {"Requires", "Requisite", "BindsTo"} & set(unit["Unit"])
    assert UNITS[systemd.PLATFORM_TARGET]["Install"]["WantedBy"] == ["multi-user.target"]


def test_every_long_running_unit_restarts_without_giving_up():
    for name, unit in UNITS.items():
        if name.endswith(".service") and name != systemd.PREPARE:
            assert unit["Service"]["Restart"] == ["always"], name
            assert unit["Service"]["RestartSec"] == ["2s"], name
            assert unit["Unit"]["StartLimitIntervalSec"] == ["0"], name
    prepare = UNITS[systemd.PREPARE]["Service"]
    assert (prepare["Type"], prepare["RemainAfterExit"]) == (["oneshot"], ["yes"])
    assert prepare["ExecStart"] == [f"{BASE_DIR}/.venv/bin/python -m launcher.prepare"]


def test_it_runs_redis_on_the_data_directorys_socket_only():
    exec_start = UNITS[systemd.REDIS]["Service"]["ExecStart"][0]
    assert "--port 0 --unixsocket /var/lib/hosting/run/redis.sock" in exec_start
    assert '--save "" --appendonly yes' in exec_start
    assert systemd.REDIS not in systemd.render_units(_installation(managed_redis=False))
