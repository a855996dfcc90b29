"""A place "outside" the host for network attacks: a network namespace behind the host, with
listeners on documentation, private and metadata addresses, so that no probe leaves the machine."""
from __future__ import annotations

import random
import socket
import subprocess
import sys
import uuid

import pytest

LISTENER = r"""
import socket, sys, threading
def serve(server):
    while True:
        conn, _ = server.accept()
        try:
            conn.sendall(b"220 listener\r\n")
        finally:
            conn.close()
for spec in sys.argv[1:]:
    host, port = spec.rsplit(":", 1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind((host, int(port)))
    server.listen(64)
    threading.Thread(target=serve, args=(server,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


def free_port() -> int:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::", 0))
        return s.getsockname()[1]


def start_listener(specs: list[str], netns: str | None = None) -> subprocess.Popen:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    process = subprocess.Popen([*prefix, sys.executable, "-c", LISTENER, *specs], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)


class Outside:
    """A network namespace behind the host: a documentation address standing for the internet, and a
    private address and the metadata address routed to it, each with listeners on ports 25 and 80."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.netns, self.veth = f"hfw-{tag}", f"hfw{tag}"
        base = 4 * random.randrange(1, 63)
        self.gateway, self.internet = f"198.51.100.{base + 1}", f"198.51.100.{base + 2}"
        self.private = f"10.250.{random.randrange(256)}.{random.randrange(1, 255)}"
        self.metadata = "169.254.169.254"
        self.routes: list[str] = []
        sh("ip", "netns", "add", self.netns)
        sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth-out", "netns", self.netns)
        sh("ip", "addr", "add", f"{self.gateway}/30", "dev", self.veth)
        sh("ip", "link", "set", self.veth, "up")
        inside = ["ip", "netns", "exec", self.netns]
        sh(*inside, "ip", "addr", "add", f"{self.internet}/30", "dev", "eth-out")
        sh(*inside, "ip", "link", "set", "eth-out", "up")
        sh(*inside, "ip", "link", "set", "lo", "up")
        sh(*inside, "ip", "route", "add", "default", "via", self.gateway)
        addresses = [self.internet]
        for address in (self.private, self.metadata):
            # A host with a route of its own to the address (a cloud VM's metadata) keeps it.
            if sh("ip", "route", "add", f"{address}/32", "via", self.internet, check=False).returncode == 0:
                self.routes.append(address)
                sh(*inside, "ip", "addr", "add", f"{address}/32", "dev", "lo")
                addresses.append(address)
        self.listener = start_listener([f"{a}:{p}" for a in addresses for p in (25, 80)], self.netns)

    def close(self) -> None:
        stop(self.listener)
        for address in self.routes:
            sh("ip", "route", "del", f"{address}/32", check=False)
        sh("ip", "link", "del", self.veth, check=False)
        sh("ip", "netns", "del", self.netns, check=False)




@pytest.fixture
def outside():
    place = Outside()
    yield place
    place.close()
