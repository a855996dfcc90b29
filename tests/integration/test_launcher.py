"""`make run`'s launcher brings the whole platform up, and Ctrl-C leaves nothing behind."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

from launcher.processes import free_tcp_port
from launcher.services import unmount_everything_under
from launcher.supervisor import Supervisor
from tests.integration.support.processes import BASE_DIR, wait_for


def processes_with_env(marker: str) -> list[int]:
    """Pids of live processes whose environment contains `marker` (every child inherits DATA_DIR)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = next(l for l in (entry / "status").read_text().splitlines() if l.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if marker.encode() in environ.split(b"\0") and "zombie" not in state:
            found.append(int(entry.name))
    return found


def owner_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("Uid:")[1].split()[0])


def launcher_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DATA_DIR"}}
    env.update({"DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


@pytest.fixture
def reachable_tmp():
    """A temporary directory the platform user may pass through (pytest's own is root's, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="hosting-run-"))
    path.chmod(0o711)
    yield path
    unmount_everything_under(path)
    shutil.rmtree(path, ignore_errors=True)


def test_it_brings_the_platform_up_and_ctrl_c_stops_everything(reachable_tmp):
    tmp_path = reachable_tmp
    portal_port, edge_port = free_tcp_port(), free_tcp_port()
    host_name = f"run-{uuid.uuid4().hex[:8]}"
    env = launcher_env(
        tmp_path, PORTAL_BIND=f"127.0.0.1:{portal_port}", PROXY_HTTP_PORT=str(edge_port),
        HOST_NAME=host_name, HEARTBEAT_INTERVAL="2", HOST_DOWN_AFTER="10",
    )
    log = open(tmp_path / "launcher.log", "wb")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "launcher.run"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = lambda: (tmp_path / "launcher.log").read_text(errors="replace")  # noqa: E731
    portal = f"http://127.0.0.1:{portal_port}"
    try:
        def healthy():
            assert launcher.poll() is None, output()
            try:
                return requests.get(f"{portal}/healthz", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or still loading on busy cores
                return False

        wait_for(healthy, 180, "GET /healthz to answer 200", interval=1)
        assert requests.get(f"{portal}/healthz", timeout=5).json() == {"status": "ok"}  # details are for staff

        login = requests.get(f"{portal}/admin/login/", timeout=5)  # the staff site logs in through the portal
        assert login.status_code == 200 and "csrfmiddlewaretoken" in login.text and login.url.startswith(f"{portal}/login/")
        css = requests.get(f"{portal}/static/admin/css/base.css", timeout=5)
        assert css.status_code == 200

        edge = requests.get(f"http://127.0.0.1:{edge_port}/", headers={"Host": "anything.apps.localhost"}, timeout=5)
        assert edge.status_code == 404 and "No site here" in edge.text

        text = output()
        assert f"{portal}/" in text and f":{edge_port}/" in text
        password = re.search(r"Created staff user 'admin' with password (\S+)", text).group(1)
        credentials = tmp_path / "data" / "secrets" / "staff-login.txt"
        assert password in credentials.read_text()
        assert credentials.stat().st_mode & 0o777 == 0o600
        staff = requests.Session()
        staff.get(f"{portal}/login/", timeout=5)
        staff.post(f"{portal}/login/", data={"email": "admin", "password": password,
                                             "csrfmiddlewaretoken": staff.cookies["csrftoken"]}, timeout=5)
        # The first staff login sets up two-factor before the staff site opens.
        first_visit = staff.get(f"{portal}/admin/", timeout=5)
        assert first_visit.url == f"{portal}/account/two-factor/" and "authenticator" in first_visit.text.lower()
        health = staff.get(f"{portal}/healthz", timeout=5).json()
        assert health["database"]["ok"] and health["database"]["engine"] == "sqlite"
        assert health["redis"]["ok"]
        assert health["hosts"][host_name]["status"] == "up"
        marker = f"DATA_DIR={tmp_path / 'data'}"
        assert len(processes_with_env(marker)) >= 6  # launcher, redis, web, worker, agent, beat, edge...
        # The web server, the control worker and beat run as the platform user; the agent and edge as root.
        platform_uid = pwd.getpwnam("hosting").pw_uid
        owners = {owner_of(pid) for pid in processes_with_env(marker)}
        assert owners == {0, platform_uid}, owners
        assert credentials.stat().st_uid == platform_uid

        # The operator's report: one `kill -9` of beat stopped every process. Now beat alone restarts.
        processes = Supervisor.attach(tmp_path / "data" / "supervisor", tmp_path / "data" / "log")
        before = {name: process.pid for name, process in processes.items()}
        assert set(before) >= {"redis", "web", "worker", "beat", "agent", "edge", "edge_worker"}
        os.kill(before["beat"], signal.SIGKILL)
        wait_for(lambda: processes["beat"].running and processes["beat"].pid != before["beat"], 10,
                 "beat to be restarted")
        assert {name: process.pid for name, process in processes.items() if name != "beat"} == \
            {name: pid for name, pid in before.items() if name != "beat"}
        assert requests.get(f"{portal}/healthz", timeout=30).status_code == 200
        assert "exited: beat (terminated by SIGKILL; not expected)" in output()

        # `make upgrade`'s last step finds this `make run` by its supervisord's socket in DATA_DIR.
        before = {name: process.pid for name, process in processes.items()}
        upgrade = subprocess.run([sys.executable, "-m", "launcher.upgrade"], cwd=BASE_DIR, env=env,
                                 capture_output=True, text=True, timeout=600)
        assert upgrade.returncode == 0 and "Upgraded." in upgrade.stdout, upgrade.stdout + upgrade.stderr
        after = {name: process.pid for name, process in processes.items()}
        assert [name for name in before if before[name] != after[name]] == ["worker", "agent", "beat", "edge_worker"]
    finally:
        launcher.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            launcher.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            pytest.fail(f"the launcher did not stop within 60 s after SIGINT:\n{output()}")
        log.close()

    wait_for(lambda: not processes_with_env(marker), 15, f"every started process to exit:\n{output()}")


def test_it_says_in_one_sentence_that_the_database_is_unreachable(reachable_tmp):
    port = free_tcp_port()  # nothing listens there
    env = launcher_env(
        reachable_tmp, DATABASE_URL=f"postgres://platform:secret@127.0.0.1:{port}/hosting",
        REDIS_URL=os.environ["REDIS_URL"], PORTAL_BIND=f"127.0.0.1:{free_tcp_port()}",
        PROXY_HTTP_PORT=str(free_tcp_port()),
    )

    result = subprocess.run(
        [sys.executable, "-m", "launcher.run"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: The database at postgres://platform:***@127.0.0.1:{port}/hosting is not reachable")
    assert "secret" not in result.stderr


def test_it_says_in_one_sentence_that_a_setting_is_malformed(tmp_path):
    env = launcher_env(tmp_path, HEARTBEAT_INTERVAL="often", REDIS_URL=os.environ["REDIS_URL"])

    result = subprocess.run(
        [sys.executable, "-m", "launcher.run"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: Bad configuration: HEARTBEAT_INTERVAL must be a whole number, not 'often'."


def test_it_says_in_one_sentence_that_the_platform_user_cannot_reach_the_data_dir(tmp_path):
    # pytest's tmp_path lies in a directory of root's (0700).
    env = launcher_env(tmp_path, REDIS_URL=os.environ["REDIS_URL"], DATABASE_URL=os.environ.get("DATABASE_URL", ""))
    result = subprocess.run([sys.executable, "-m", "launcher.run"], cwd=BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "Traceback" not in result.stdout, result.stderr
    assert errors[0].startswith(f"error: The platform user hosting cannot reach DATA_DIR={tmp_path / 'data'}")
