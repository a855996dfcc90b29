"""Separate hosts on this machine: each a Docker daemon in its own network namespace, with its own
address (10.231.<n>.2 on a veth pair), data root, exec root and socket, running a real agent.

Network namespaces rather than Docker-in-Docker host containers: no image to build for the host, the
daemons start in about a second, and a lost host is a plain SIGKILL of its processes. The daemon and
the agent enter the namespace with `nsenter --net` (not `ip netns exec`, which mounts a fresh /sys
and hides the cgroup hierarchy dockerd needs). The agent runs inside the namespace, so its site
firewall is the host's own. The edge, in the root namespace, reaches each instance at the host's
address and published port, as it would another machine.

Each host joins as the README tells an operator: `manage.py add_host NAME --address ADDR
--control-plane-url URL` (run as a process), and its agent runs with the environment that prints.
Nothing of the control plane's disk is shared: the agent has its own DATA_DIR under the host's
root, gets build sources and slugs over /internal/v1 (CONTROL_PLANE_URL, HOST_TOKEN) and reaches
PostgreSQL, Redis and the web server through TCP forwarders on the veth's root side (the gateway
address), as another machine reaches the control plane's private address: PostgreSQL and the web
server listen on loopback only and Redis on a unix socket, so the printed DATABASE_URL and
REDIS_URL are given the gateway instead, which is what an operator does with loopback URLs.
"""
from __future__ import annotations

import itertools
import os
import shutil
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from hosting import image_catalog
from tests.integration.support.processes import BASE_DIR, ChildProcess, database_url, wait_for

# Not 10.213 or 10.214: the site networks (SITE_SUBNET, SITE_SMTP_SUBNET) use those on every daemon.
SUBNET_BASE = "10.231"
MAX_HOSTS = 3  # per test run: two runs on one machine (CI and a developer's) get different addresses
# What the agent keeps of this machine's environment: the machine's, not the fleet's (add_host prints those).
MACHINE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PLATFORM_USER")


def host_index(number: int) -> int:
    return (os.getpid() % 80) * MAX_HOSTS + number


def gateway_address(index: int) -> str:
    return f"{SUBNET_BASE}.{index}.1"


def control_plane_addresses() -> list[str]:
    """The addresses this run's hosts reach the control plane on: its web server must allow them
    (ALLOWED_HOSTS), as a real control plane allows its private address."""
    return [gateway_address(host_index(number)) for number in range(1, MAX_HOSTS + 1)]


class Forwarder:
    """Forwards TCP connections from listen_host:port to what `upstream` connects to (by default
    127.0.0.1:port): the control plane's loopback services for an agent in a namespace."""

    def __init__(self, listen_host: str, port: int, upstream: Callable[[], socket.socket] | None = None) -> None:
        self.server = socket.create_server((listen_host, port))
        self.port = self.server.getsockname()[1]
        self.upstream = upstream or (lambda: socket.create_connection(("127.0.0.1", port)))
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            try:
                upstream = self.upstream()
            except OSError:
                client.close()  # the service is down (a test killed it): the client sees a reset
                continue
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
        # shutdown first: close() alone leaves the socket listening while accept() waits in its thread,
        # and the next module's host (the same address in the same run) could not bind it.
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@dataclass
class DockerHost:
    index: int
    name: str
    root: Path  # short: unix socket paths (containerd's under exec-root) must stay under 108 bytes
    log_dir: Path
    service_env: dict[str, str]  # the control plane's: what `manage.py add_host` runs with
    control_plane_url: str  # its web server, on loopback
    dockerd: subprocess.Popen | None = None
    agent: ChildProcess | None = None
    forwarders: dict[str, Forwarder] = field(default_factory=dict)
    agents: list[ChildProcess] = field(default_factory=list)
    joined: dict[str, str] = field(default_factory=dict)  # the environment add_host printed
    command: list[str] = field(default_factory=list)  # and the agent's command

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
        return gateway_address(self.index)

    @property
    def data_dir(self) -> Path:
        # Under the short root: containerd's and the agent's unix sockets must stay under 108 bytes.
        return self.root / "agent"

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
        self.forwarders["postgres"] = Forwarder(self.gateway, urlsplit(self.service_env["DATABASE_URL"]).port)
        self.forwarders["web"] = Forwarder(self.gateway, urlsplit(self.control_plane_url).port)
        self.forwarders["redis"] = Forwarder(self.gateway, 0, self.redis_connection)

    def redis_connection(self) -> socket.socket:
        redis = urlsplit(self.service_env["REDIS_URL"])  # `make test`'s: a unix socket; else host:port
        if redis.scheme == "redis+socket":
            return unix_connection(redis.path)
        return socket.create_connection((redis.hostname, redis.port or 6379))

    def join(self) -> None:
        """`manage.py add_host`, as an operator runs it on the control plane; keeps what it prints."""
        url = f"http://{self.gateway}:{self.forwarders['web'].port}"
        added = subprocess.run([sys.executable, "manage.py", "add_host", self.name, "--address", self.address,
                                "--control-plane-url", url], cwd=BASE_DIR, env=self.service_env,
                               capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stdout + added.stderr
        self.joined, self.command = printed_command(added.stdout, self.name)

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
        """What add_host printed, with what an operator changes on a real machine: the database and
        the broker at the address this host reaches them on (the printed ones are the control
        plane's loopback and socket), the data dir (here under the host's short root), this host's
        Docker daemon; and the test platform's faster heartbeats."""
        url = urlsplit(self.joined["DATABASE_URL"])
        netloc = url.netloc.replace(f"@{url.hostname}:", f"@{self.gateway}:")
        return {**{key: os.environ[key] for key in MACHINE_ENV if key in os.environ}, **self.joined,
                "DATABASE_URL": urlunsplit(url._replace(netloc=netloc)),
                "REDIS_URL": f"redis://{self.gateway}:{self.forwarders['redis'].port}/0",
                "DATA_DIR": str(self.data_dir), "DOCKER_HOST": self.docker_host, "PYTHONUNBUFFERED": "1",
                "HEARTBEAT_INTERVAL": "1", "HOST_DOWN_AFTER": "10"}

    def start_agent(self) -> None:
        # As printed, run in the clone (the harness's is this one); one task at a time on 2 cores
        # in tests, the agent's own default (2) in the failover benchmark.
        concurrency = os.environ.get("FLEET_AGENT_CONCURRENCY", "1")
        self.agent = ChildProcess(f"agent-{self.name}-{time.monotonic_ns()}",
                                  [*self.enter(), *self.command, "--concurrency", concurrency], self.agent_env(),
                                  self.log_dir)
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
        for forwarder in self.forwarders.values():
            forwarder.close()
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


def unix_connection(path: str) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError:
        connection.close()
        raise
    return connection


def printed_command(output: str, name: str) -> tuple[dict[str, str], list[str]]:
    """The variables and the command of the `env K=V ... .venv/bin/python manage.py agent --name
    NAME` that add_host printed."""
    words = shlex.split(output[output.index("\nenv ") + 1:].replace("\\\n", " "))
    variables = list(itertools.takewhile(lambda word: "=" in word, words[1:]))
    command = words[1 + len(variables):]
    assert command[-4:] == ["manage.py", "agent", "--name", name], words
    return dict(variable.split("=", 1) for variable in variables), command


def save_images(tags: list[str], directory: Path) -> Path:
    """The runtime images, saved once from the shared daemon for every host of the session."""
    archive = directory / "images.tar"
    with open(archive, "wb") as out:
        subprocess.run(["docker", "-H", "unix:///var/run/docker.sock", "save", *tags], stdout=out, check=True,
                       timeout=600)
    return archive


def start_hosts(count: int, prefix: str, images: Path, log_dir: Path, service_env: dict[str, str],
                control_plane_url: str) -> list[DockerHost]:
    assert count <= MAX_HOSTS
    hosts: list[DockerHost] = []
    try:
        for number in range(1, count + 1):
            root = Path(tempfile.mkdtemp(prefix="fh", dir="/tmp"))
            host = DockerHost(host_index(number), f"{prefix}-{number}", root, log_dir, service_env,
                              control_plane_url)
            hosts.append(host)
            host.create_network()
            host.join()
            host.start_daemon()
            host.load_images(images)
            host.start_agent()
    except BaseException:
        for host in hosts:
            host.stop()
        raise
    return hosts


@contextmanager
def running_hosts(count: int, prefix: str, platform, work: Path) -> Iterator[list[DockerHost]]:
    """`count` hosts joined to the test platform (its database, broker, web server and log relay
    port), holding the static runtime's images; every one stopped and cleaned up afterwards."""
    images = save_images(sorted(set(image_catalog.current_tags(["static"]).values())), work)
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1",
           "LOG_RELAY_PORT": platform.env["LOG_RELAY_PORT"]}
    hosts = start_hosts(count, f"{prefix}-{uuid.uuid4().hex[:4]}", images, work, env, platform.portal)
    try:
        yield hosts
    finally:
        for host in hosts:
            host.stop()
        retire([host.name for host in hosts])


def retire(names: list[str]) -> None:
    """Stopped hosts take no more work at once: until HOST_DOWN_AFTER passed they would still look
    alive to placement, and the next module's push would be placed on a daemon that is gone (their
    rows outlive the flush of the last test: the agents' heartbeats register them again). Plain SQL:
    a module fixture's teardown may not use the ORM (pytest-django blocks it there)."""
    with psycopg.connect(database_url(), autocommit=True) as connection:
        connection.execute("UPDATE hosting_host SET cordoned_at = now(), cordon_reason = 'test harness: stopped', "
                           "down_since = now() WHERE name = ANY(%s)", (names,))
