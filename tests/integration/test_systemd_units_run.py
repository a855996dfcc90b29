"""The production install's units run by a real systemd, as PID 1 of a Debian 12 container.

systemd is not PID 1 on these machines, so the platform itself is not run under it; here the units
generated from the real Procfile start stand-in programs (one script for gunicorn, celery, python and
redis-server that records how it was started, then sleeps), so what systemd does with them is real:
the Procfile's ${VAR:-default}s and celery's %h reaching the program, the users, restarts after a
kill -9, and what stopping the control plane, Docker or Redis leaves running.
"""
from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from launcher.install_services import write_units
from core.data_dir import Account
from launcher.stack import BASE_DIR, read_procfile
from launcher.systemd import (
    CONTROL_TARGET,
    DATA_PLANE_PROCESSES,
    DOCKER,
    PLATFORM_TARGET,
    REDIS,
    Installation,
    render_units,
    unit_name,
)

IMAGE = "hosting-test/systemd:bookworm-1"
# Debian 12's systemd 252 still boots on the cgroup v1 hierarchy of these machines (257 refuses).
PACKAGES = "systemd,systemd-sysv,procps,passwd"
STAND_IN = """#!/bin/sh
# How systemd started us: user, environment, argv; one line per start.
echo "$(id -un) HOME=$HOME DOCKER_HOST=$DOCKER_HOST $(basename "$0") $*" >> /out/started
[ "$1 $2" = "-m launcher.prepare" ] && exit 0
exec sleep infinity
"""
CONTROL = [unit_name(name) for name, _ in read_procfile(BASE_DIR / "Procfile") if name not in DATA_PLANE_PROCESSES]
EDGE = unit_name("edge")


def _docker(*arguments: str, check: bool = True) -> str:
    return subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=300, check=check).stdout


@pytest.fixture(scope="module")
def systemd_image(tmp_path_factory):
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0:
        return IMAGE
    root = tmp_path_factory.mktemp("systemd-rootfs")
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(root),
                    "http://deb.debian.org/debian"], check=True, capture_output=True, timeout=600)
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-", IMAGE], stdin=tar.stdout, check=True, capture_output=True, timeout=300)
    tar.wait()
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=True)
    return IMAGE


@pytest.fixture
def booted(systemd_image, tmp_path):
    """A container whose PID 1 is systemd, with the units installed and hosting.target started."""
    checkout, out = tmp_path / "checkout", tmp_path / "out"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    out.mkdir()
    (out / "started").touch()
    (out / "started").chmod(0o666)  # written by root's and the platform user's processes
    shutil.copy(BASE_DIR / "Procfile", checkout / "Procfile")
    stand_in = checkout / ".venv" / "bin" / "stand-in"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    for program in ("gunicorn", "celery", "python", "redis-server"):
        (checkout / ".venv" / "bin" / program).symlink_to("stand-in")
    env_dir = tmp_path / "etc-hosting"
    env_dir.mkdir()
    (env_dir / "hosting.env").write_text("DATA_DIR=/var/lib/hosting\nPORTAL_BIND=0.0.0.0:9999\n")
    units = tmp_path / "units"
    installation = Installation(checkout, Path("/etc/hosting/hosting.env"), Path("/var/lib/hosting"),
                                Account("hosting", 999, 999, "/nonexistent"), managed_redis=True)
    write_units(units, render_units(installation))
    (units / DOCKER).write_text("[Service]\nExecStart=/bin/sleep infinity\n")  # Docker's unit, standing in

    name = f"hosting-test-systemd-{uuid.uuid4().hex[:8]}"
    _docker("run", "-d", "--name", name, "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock", "-e", "container=docker",
            "-v", f"{checkout}:{checkout}:ro", "-v", f"{out}:/out", "-v", f"{env_dir}:/etc/hosting:ro",
            "-v", f"{stand_in}:/usr/bin/redis-server:ro", systemd_image, "/lib/systemd/systemd")
    try:
        _wait(lambda: _exec(name, "systemctl", "is-system-running", check=False).strip() in {"running", "degraded"},
              "systemd to boot")
        _exec(name, "useradd", "--system", "--user-group", "--home-dir", "/nonexistent", "--no-create-home", "hosting")
        for unit in units.iterdir():
            _docker("cp", str(unit), f"{name}:/etc/systemd/system/{unit.name}")
        _exec(name, "systemctl", "daemon-reload")
        _exec(name, "systemctl", "enable", "--now", PLATFORM_TARGET)
        # Every program started (a line each: the Procfile's, Redis and prepare), none of them restarted.
        _wait(lambda: len((out / "started").read_text().splitlines()) == len(CONTROL) + 3, "every unit to start")
        for unit in [*CONTROL, EDGE, REDIS]:
            assert _active(name, unit), unit
            assert _exec(name, "systemctl", "show", "--value", "--property", "NRestarts", unit).strip() == "0", unit
        yield name, out / "started"
    finally:
        _docker("rm", "-f", name, check=False)


def _exec(container: str, *command: str, check: bool = True) -> str:
    return _docker("exec", container, *command, check=check)


def _active(container: str, unit: str) -> bool:
    return _exec(container, "systemctl", "is-active", unit, check=False).strip() == "active"


def _main_pid(container: str, unit: str) -> str:
    return _exec(container, "systemctl", "show", "--value", "--property", "MainPID", unit).strip()


def _wait(condition, what: str, timeout: float = 30) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def test_systemd_starts_the_procfile_as_make_run_would(booted):
    container, started = booted
    lines = started.read_text().splitlines()
    web = next(line for line in lines if " gunicorn " in line)
    assert web.startswith("hosting HOME=/nonexistent DOCKER_HOST=unix:///var/lib/hosting/docker-logs/docker.sock ")
    assert "--bind 0.0.0.0:9999 " in web and "--workers 2 " in web  # from the env file, and the Procfile's default
    worker = next(line for line in lines if "--queues control" in line)
    assert "--hostname control@%h " in worker  # celery's own %h, not systemd's
    agent = next(line for line in lines if "manage.py agent" in line)
    assert agent.startswith("root ")
    assert any(line.endswith("python -m launcher.prepare") for line in lines)
    assert any("redis-server --port 0 --unixsocket /var/lib/hosting/run/redis.sock" in line for line in lines)


def test_stopping_the_control_plane_docker_or_redis_leaves_the_edge_serving(booted):
    container, _ = booted
    edge_pid = _main_pid(container, EDGE)
    _exec(container, "systemctl", "stop", CONTROL_TARGET)
    assert not any(_active(container, unit) for unit in CONTROL)
    _exec(container, "systemctl", "stop", DOCKER, REDIS)
    assert _active(container, EDGE) and _main_pid(container, EDGE) == edge_pid

    _exec(container, "systemctl", "start", REDIS, DOCKER, CONTROL_TARGET)
    _wait(lambda: all(_active(container, unit) for unit in CONTROL), "the control plane to start again")
    _exec(container, "systemctl", "stop", REDIS)
    assert all(_active(container, unit) for unit in CONTROL)  # Wants=, not Requires=: Redis takes nobody down
    _exec(container, "systemctl", "restart", CONTROL_TARGET)
    assert _main_pid(container, EDGE) == edge_pid


@pytest.mark.parametrize("unit", ["hosting-web.service", EDGE, REDIS])
def test_a_killed_process_is_running_again_within_seconds(booted, unit):
    container, _ = booted
    pid = _main_pid(container, unit)
    _exec(container, "kill", "-9", pid)
    back = _wait(lambda: _active(container, unit) and _main_pid(container, unit) not in {pid, "0"}, f"{unit} to restart")
    assert back < 10
