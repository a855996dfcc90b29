"""Separate hosts on this machine: each a Docker daemon in its own network namespace, with its own
address (10.231.<n>.2 on a veth pair), data root, exec root and socket, running a real agent.

Network namespaces rather than Docker-in-Docker host containers: no image to build for the host, the
daemons start in about a second, and a lost host is a plain SIGKILL of its processes. The daemon and
the agent enter the namespace with `nsenter --net` (not `ip netns exec`, which mounts a fresh /sys
and hides the cgroup hierarchy dockerd needs). The agent runs inside the namespace, so its site
firewall is the host's own; it reaches Redis through the control plane's unix socket (a file, not
the network) and PostgreSQL through a forwarder on the veth's root side (PostgreSQL listens on
loopback only). The edge, in the root namespace, reaches each instance at the host's address and
published port, as it would another machine.

Agents share the control plane's data directory until slugs and sources reach a host over the
internal channel: `OWN_DATA_DIR` is the one switch to flip then.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.integration.support.processes import ChildProcess, wait_for

OWN_DATA_DIR = False  # flip when agents no longer read slugs from the control plane's disk
# Not 10.213 or 10.214: the site networks (SITE_SUBNET, SITE_SMTP_SUBNET) use those on every daemon.
SUBNET_BASE = "10.231"


class Forwarder:
    """Forwards TCP connections from listen_host:port to 127.0.0.1:port (PostgreSQL for an agent in a namespace)."""

    def __init__(self, listen_host: str, port: int) -> None:
        self.port = port
        self.server = socket.create_server((listen_host, port))
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@dataclass
class DockerHost:
    index: int
    name: str
    root: Path  # short: unix socket paths (containerd's under exec-root) must stay under 108 bytes
    log_dir: Path
    service_env: dict[str, str]
    dockerd: subprocess.Popen | None = None
    agent: ChildProcess | None = None
    forwarder: Forwarder | None = None
    agents: list[ChildProcess] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return f"fh{os.getpid()}-{self.index}"

    @property
    def veth(self) -> str:
        return f"fh{os.getpid() % 100000}v{self.index}"

    @property
    def address(self) -> str:
        return f"{SUBNET_BASE}.{self.index}.2"

    @property
    def gateway(self) -> str:
        return f"{SUBNET_BASE}.{self.index}.1"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def enter(self) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{self.netns}"]

    def create_network(self) -> None:
        run("ip", "netns", "add", self.netns)
        peer = f"{self.veth}p"
        run("ip", "link", "add", self.veth, "type", "veth", "peer", "name", peer)
        run("ip", "link", "set", peer, "netns", self.netns)
        run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.veth)
        run("ip", "link", "set", self.veth, "up")
        inside = ["ip", "netns", "exec", self.netns]
        run(*inside, "ip", "addr", "add", f"{self.address}/24", "dev", peer)
        run(*inside, "ip", "link", "set", peer, "up")
        run(*inside, "ip", "link", "set", "lo", "up")
        run(*inside, "ip", "route", "add", "default", "via", self.gateway)
        postgres_port = urlsplit(self.service_env["DATABASE_URL"]).port
        self.forwarder = Forwarder(self.gateway, postgres_port)

    def start_daemon(self) -> None:
        log = open(self.log_dir / f"dockerd-{self.name}.log", "ab")
        # No --live-restore: a restarted daemon stops what ran before, as after a host's reboot.
        self.dockerd = subprocess.Popen(
            [*self.enter(), "dockerd", "--host", self.docker_host, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "dockerd.pid"),
             "--cgroup-parent", f"/{self.netns}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.daemon_answers, 60, f"the Docker daemon of {self.name}")

    def daemon_answers(self) -> bool:
        return self.docker("info", check=False).returncode == 0

    def docker(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.docker_host, *args], capture_output=True, text=True,
                              check=check, timeout=300, **kwargs)

    def load_images(self, archive: Path) -> None:
        with open(archive, "rb") as images:
            self.docker("load", stdin=images)

    def agent_env(self) -> dict[str, str]:
        url = urlsplit(self.service_env["DATABASE_URL"])
        netloc = url.netloc.replace(f"@{url.hostname}:", f"@{self.gateway}:")
        env = {**self.service_env, "DATABASE_URL": urlunsplit(url._replace(netloc=netloc)),
               "DOCKER_HOST": self.docker_host, "HOST_SERVICE_ADDRESS": self.address,
               "HEARTBEAT_INTERVAL": "1", "HOST_DOWN_AFTER": "10"}
        if OWN_DATA_DIR:
            env["DATA_DIR"] = str(self.root / "agent-data")
        return env

    def start_agent(self) -> None:
        self.agent = ChildProcess(f"agent-{self.name}-{time.monotonic_ns()}",
                                  [*self.enter(), sys.executable, "manage.py", "agent", "--name", self.name,
                                   "--concurrency", "1"], self.agent_env(), self.log_dir)
        self.agents.append(self.agent)
        agent = self.agent
        wait_for(lambda: "ready." in agent.output() or agent.popen.poll() is not None, 90,
                 f"the agent of {self.name}")
        assert agent.popen.poll() is None, agent.output()

    def cgroup_pids(self) -> set[int]:
        pids: set[int] = set()
        for procs in Path("/sys/fs/cgroup/pids").glob(f"{self.netns}/**/cgroup.procs"):
            pids.update(int(pid) for pid in procs.read_text().split())
        return pids

    def namespace_pids(self) -> set[int]:
        listed = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True)
        return {int(pid) for pid in listed.stdout.split()}

    def kill(self) -> None:
        """The host is lost: SIGKILL of its agent, its daemon, containerd, the shims and every
        container process (those in its cgroups), as when the machine loses power."""
        for _ in range(3):  # shims may fork while we kill
            for pid in self.namespace_pids() | self.cgroup_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.3)
        for process in (self.dockerd, self.agent and self.agent.popen):
            if process:
                process.wait(10)

    def stop(self) -> None:
        """Clean teardown, whatever state the host is in: containers, daemon, namespace, veth, mounts."""
        for agent in self.agents:
            agent.stop()
        if self.dockerd and self.dockerd.poll() is None and self.daemon_answers():
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            self.dockerd.terminate()
            try:
                self.dockerd.wait(30)
            except subprocess.TimeoutExpired:
                pass
        if self.netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout:
            self.kill()
        if self.forwarder:
            self.forwarder.close()
        for mount in reversed(Path("/proc/mounts").read_text().splitlines()):
            target = mount.split()[1]
            if target.startswith(str(self.root)):
                subprocess.run(["umount", "-l", target], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.veth], capture_output=True)
        for group in Path("/sys/fs/cgroup").glob(f"*/{self.netns}"):
            for child in sorted(group.glob("**/"), key=lambda path: len(str(path)), reverse=True):
                try:
                    child.rmdir()
                except OSError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)


def save_images(tags: list[str], directory: Path) -> Path:
    """The runtime images, saved once from the shared daemon for every host of the session."""
    archive = directory / "images.tar"
    with open(archive, "wb") as out:
        subprocess.run(["docker", "-H", "unix:///var/run/docker.sock", "save", *tags], stdout=out, check=True,
                       timeout=600)
    return archive


def start_hosts(count: int, prefix: str, images: Path, log_dir: Path, service_env: dict[str, str]) -> list[DockerHost]:
    hosts: list[DockerHost] = []
    try:
        for index in range(1, count + 1):
            root = Path(tempfile.mkdtemp(prefix="fh", dir="/tmp"))
            # Two test runs on one machine (CI and a developer's) get different addresses.
            host = DockerHost((os.getpid() % 80) * 3 + index, f"{prefix}-{index}", root, log_dir, service_env)
            hosts.append(host)
            host.create_network()
            host.start_daemon()
            host.load_images(images)
            host.start_agent()
    except BaseException:
        for host in hosts:
            host.stop()
        raise
    return hosts
