"""Attack on the fence itself: the site firewall disappears (a reboot, a flush of the tables, a
firewall reload) or ends up behind dockerd's own rules, and sites would run unfenced until the
agent starts again.

A real dockerd runs in a network namespace of its own (its own iptables, bridges and data), so
its restarts and the flushes below touch nothing of this machine's. The agent's heartbeat check
(`Heartbeat.check_firewall`) runs inside that namespace too and must put everything back.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.support.processes import wait_for

REPO = Path(__file__).resolve().parents[2]

# Runs inside the namespace: prepare the host (networks + firewall) or run the heartbeat's check.
AGENT_SIDE = r"""
import json, os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from hosting.agent import Heartbeat
from hosting.engine import ContainerEngine
from hosting.host_setup import blocked_networks, firewall_problems, prepare_host, site_bridges
engine = ContainerEngine(base_url=sys.argv[2])
if sys.argv[1] == "prepare":
    prepare_host(engine)
elif sys.argv[1] == "heartbeat":
    Heartbeat("netns-host", engine, 1).check_firewall()
started = time.monotonic()
problems = firewall_problems(site_bridges(), blocked_networks())
print(json.dumps({"problems": problems, "check_ms": (time.monotonic() - started) * 1000}))
"""


class NamespacedDockerd:
    """dockerd with its own network namespace, sockets and data; started and stopped by pid."""

    def __init__(self, work: Path) -> None:
        self.netns = f"hfw-d{uuid.uuid4().hex[:6]}"
        self.work = work
        self.socket = f"unix://{work}/d.sock"
        self.process: subprocess.Popen | None = None
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # nsenter enters the network namespace only: dockerd needs the host's cgroup mounts.
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", *args], capture_output=True, text=True,
                              check=check, timeout=120)

    def start(self) -> None:
        log = open(self.work / "dockerd.log", "a")
        self.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.netns}", "dockerd", "--data-root", str(self.work / "data"),
             "--exec-root", str(self.work / "exec"), "--pidfile", str(self.work / "dockerd.pid"), "-H", self.socket],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.run("docker", "-H", self.socket, "version", check=False).returncode == 0, 60,
                 "the namespaced dockerd to answer")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(60)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def agent(self, action: str) -> dict:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        result = subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", sys.executable, "-c", AGENT_SIDE, action,
                                 self.socket], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def rules(self, family: str = "iptables") -> list[str]:
        return self.run(f"{family}-save", "-t", "filter").stdout.splitlines()

    def close(self) -> None:
        self.stop()
        subprocess.run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def dockerd():
    if shutil.which("nsenter") is None or shutil.which("dockerd") is None:
        pytest.skip("needs nsenter and dockerd")
    # A short path: the daemon's unix socket path must stay under 108 bytes.
    daemon = NamespacedDockerd(Path(f"/tmp/hfw-{uuid.uuid4().hex[:8]}"))
    daemon.work.mkdir(mode=0o700)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.close()


def leading(rules: list[str], chain: str, count: int) -> list[str]:
    return [line for line in rules if line.startswith(f"-A {chain} ")][:count]


def assert_fenced(daemon: NamespacedDockerd) -> None:
    for family in ("iptables", "ip6tables"):
        rules = daemon.rules(family)
        assert sorted(leading(rules, "INPUT", 2)) == ["-A INPUT -i hsites0 -j HOSTING-SITES-IN",
                                                     "-A INPUT -i hsites1 -j HOSTING-SITES-IN"], rules
        parent = "DOCKER-USER" if family == "iptables" else "FORWARD"
        assert sorted(leading(rules, parent, 2)) == [f"-A {parent} -i hsites0 -j HOSTING-SITES-OUT",
                                                    f"-A {parent} -i hsites1 -j HOSTING-SITES-OUT"], rules
        assert any("HOSTING-SITES-OUT -i hsites0 -p tcp -m tcp --dport 25 -j REJECT" in line for line in rules)
        assert any(line.startswith("-A HOSTING-SITES-IN -p tcp -j REJECT") for line in rules)
    assert leading(daemon.rules(), "FORWARD", 1) == ["-A FORWARD -j DOCKER-USER"]


def test_the_heartbeat_puts_the_site_firewall_back_after_a_flush_and_a_dockerd_restart(dockerd):
    assert dockerd.agent("prepare")["problems"] == []
    assert_fenced(dockerd)

    # A plain dockerd restart keeps DOCKER-USER and everything of ours (dockerd 20.10): nothing to do.
    dockerd.restart()
    state = dockerd.agent("check")
    assert state["problems"] == []
    print(f"an intact firewall is checked in {state['check_ms']:.0f} ms")

    # A reboot or a firewall reload empties the tables; dockerd then re-creates only its own chains.
    dockerd.stop()
    for family in ("iptables", "ip6tables"):
        dockerd.run(family, "-F")
        dockerd.run(family, "-X")
    dockerd.start()
    assert dockerd.agent("check")["problems"] != []
    assert dockerd.agent("heartbeat")["problems"] == []
    assert_fenced(dockerd)

    # Something puts an ACCEPT for the site bridge above dockerd's DOCKER-USER jump.
    dockerd.run("iptables", "-D", "FORWARD", "-j", "DOCKER-USER")
    dockerd.run("iptables", "-A", "FORWARD", "-j", "DOCKER-USER")
    dockerd.run("ip6tables", "-I", "FORWARD", "1", "-i", "hsites0", "-j", "ACCEPT")
    assert dockerd.agent("check")["problems"] != []
    assert dockerd.agent("heartbeat")["problems"] == []
    assert_fenced(dockerd)

    # Another version of the code (or a hand edit) rewrote our chain: the digest no longer matches.
    dockerd.run("iptables", "-F", "HOSTING-SITES-OUT")
    dockerd.run("iptables", "-A", "HOSTING-SITES-OUT", "-j", "RETURN")
    assert dockerd.agent("check")["problems"] == ["ipv4: HOSTING-SITES-OUT is missing or not ours"]
    assert dockerd.agent("heartbeat")["problems"] == []
    assert_fenced(dockerd)
