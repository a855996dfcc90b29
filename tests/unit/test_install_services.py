"""`make install-services` (launcher.install_services): the env file, Docker's
daemon.json and the units written where they belong, once, without touching what the operator wrote."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from launcher import Abort, install_services, systemd
from core.data_dir import platform_account
from launcher.stack import BASE_DIR
from tests.systemd_verify import verify


def _installation() -> systemd.Installation:
    # As the install command makes it from the env file it writes (the user from scripts/install.sh).
    return systemd.Installation(BASE_DIR, Path("unused"), Path("/var/lib/hosting"), platform_account("hosting"), True)


def test_it_turns_on_live_restore_keeping_the_other_keys(tmp_path):
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(json.dumps({"log-driver": "journald", "live-restore": False}))
    daemon_json.chmod(0o600)
    assert install_services.enable_live_restore(daemon_json)
    assert json.loads(daemon_json.read_text()) == {"log-driver": "journald", "live-restore": True}
    assert stat.S_IMODE(daemon_json.stat().st_mode) == 0o600
    assert not install_services.enable_live_restore(daemon_json)
    fresh = tmp_path / "docker" / "daemon.json"
    assert install_services.enable_live_restore(fresh)
    assert json.loads(fresh.read_text()) == {"live-restore": True}


@pytest.mark.parametrize("content", ['{"log-driver": "journald",', "[1, 2]"])
def test_it_refuses_a_daemon_json_that_is_not_a_json_object(tmp_path, content):
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(content)
    with pytest.raises(Abort, match="daemon.json"):
        install_services.enable_live_restore(daemon_json)
    assert daemon_json.read_text() == content


def test_the_install_command_writes_everything_once_and_keeps_the_operators_env_file(tmp_path, monkeypatch, capsys):
    # A machine where systemd is PID 1 would start the units for real: this test only writes them.
    monkeypatch.setattr(install_services, "systemd_is_running", lambda: False)
    monkeypatch.setattr(install_services, "dockerd_has_live_restore_flag", lambda: False)
    monkeypatch.delenv("PLATFORM_USER", raising=False)
    units, env_file, daemon_json = tmp_path / "units", tmp_path / "etc" / "hosting.env", tmp_path / "docker" / "daemon.json"
    units.mkdir()
    (units / "hosting-old.service").write_text(systemd.HEADER + "\n[Unit]\n")  # from an earlier install
    (units / "hosting-custom.service").write_text("[Unit]\n")  # the operator's own
    command = ["--unit-dir", str(units), "--env-file", str(env_file), "--daemon-json", str(daemon_json)]

    assert install_services.main(command) == 0
    output = capsys.readouterr().out
    assert "systemd is not running here" in output and "not started" in output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "DATA_DIR=/var/lib/hosting\nPLATFORM_USER=hosting\n" in env_file.read_text()
    assert json.loads(daemon_json.read_text()) == {"live-restore": True}
    written = {path.name for path in units.iterdir()}
    assert written == set(systemd.render_units(_installation())) | {"hosting-custom.service"}
    for name in written - {"hosting-custom.service"}:
        assert stat.S_IMODE((units / name).stat().st_mode) == 0o644, name
    assert _verify_units_only(units) == ""

    assert install_services.main(command) == 0
    assert "unchanged" in capsys.readouterr().out

    env_file.write_text("DATA_DIR=/srv/hosting\nREDIS_URL='redis://10.0.0.2:6379/0'\n")
    assert install_services.main(command) == 0
    assert env_file.read_text() == "DATA_DIR=/srv/hosting\nREDIS_URL='redis://10.0.0.2:6379/0'\n"
    assert "DOCKER_HOST=unix:///srv/hosting/docker-logs/docker.sock" in (units / "hosting-web.service").read_text()
    assert not (units / systemd.REDIS).exists()


def _verify_units_only(unit_dir: Path) -> str:
    generated = unit_dir / "generated"
    generated.mkdir()
    for path in unit_dir.glob("hosting*"):
        if path.read_text().startswith(systemd.HEADER):
            (generated / path.name).write_text(path.read_text())
    return verify(generated)


def test_it_leaves_daemon_json_alone_when_dockerd_has_the_flag(tmp_path, monkeypatch, capsys):
    # dockerd refuses to start with live-restore both as a flag and in daemon.json.
    monkeypatch.setattr(install_services, "systemd_is_running", lambda: False)
    monkeypatch.setattr(install_services, "dockerd_has_live_restore_flag", lambda: True)
    daemon_json = tmp_path / "daemon.json"
    assert install_services.main(["--unit-dir", str(tmp_path / "units"), "--env-file", str(tmp_path / "hosting.env"),
                                  "--daemon-json", str(daemon_json)]) == 0
    assert not daemon_json.exists()
    assert "--live-restore already" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "found"), [
    ([b"/usr/sbin/dockerd", b"-H", b"fd://", b"--live-restore"], True),
    ([b"dockerd", b"--live-restore"], True),
    ([b"/usr/sbin/dockerd", b"-H", b"fd://"], False),
    ([b"/usr/bin/containerd", b"--live-restore"], False),
])
def test_it_finds_a_dockerd_started_with_the_flag(tmp_path, argv, found):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "cmdline").write_bytes(b"")  # a kernel thread
    assert install_services.dockerd_has_live_restore_flag(tmp_path) is found
