"""Attack: a site container scans for what it must not reach, over IPv4 and IPv6.

From real site containers on the site network (and on the SMTP network of plans that allow mail),
the attacker tries another tenant's container (its address and its published port), a Redis and a
"careless" service listening on every host interface, the test PostgreSQL, dockerd (socket and
TCP), the portal, the edge's control socket, every address of the host, cloud metadata, a private
network behind the host, and port 25 outside. Every target it must not reach is shown reachable
from the host first (a positive control), so a failure inside the container is the fence's doing.
The "outside" is a network namespace this test creates (documentation addresses), so no probe
leaves the machine; only the DNS lookup goes to the host's own resolver.

Other test runs on this machine may re-apply the site firewall from their own (older) version of
the code while this test runs; the chains' digest marker shows it, and the scan is then repeated
with our rules in place (see `fenced`).
"""
from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from hosting.engine_errors import PortInUse
from hosting.firewall import firewall_problems
from hosting.host_setup import blocked_networks, ensure_site_firewall, site_bridges
from launcher.processes import tcp_port_open
from proxy.edge import EdgeNginx
from tests.integration.support.processes import wait_for
from tests.security.outside import free_port, sh, start_listener, stop

pytestmark = pytest.mark.django_db

PROBE = r"""
import json, os, socket, sys, threading
plan = json.loads(sys.argv[1])
results = {}

def connect(name, host, port):
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        s = socket.socket(family, kind, proto)
        s.settimeout(3)
        try:
            s.connect(address)
            results[name] = "open"
        finally:
            s.close()
    except socket.timeout:
        results[name] = "timeout"
    except OSError as exc:
        results[name] = type(exc).__name__ if type(exc) is not OSError else exc.strerror

def ipv6_ready():
    # A fresh link-local address is "tentative" (duplicate address detection) for a moment.
    try:
        lines = open("/proc/net/if_inet6").read().split("\n")
    except OSError:
        return True
    flags = [int(line.split()[4], 16) for line in lines if line.endswith("eth0") and line.startswith("fe80")]
    return bool(flags) and not any(flag & 0x40 for flag in flags)

if plan.get("ipv6"):
    for _ in range(100):
        if ipv6_ready():
            break
        __import__("time").sleep(0.1)

threads = [threading.Thread(target=connect, args=target) for target in plan["connect"]]
for t in threads: t.start()
for t in threads: t.join()
for path in plan["paths"]:
    results["path " + path] = "present" if os.path.lexists(path) else "absent"
sockets = []
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
    for name in files:
        try:
            if __import__("stat").S_ISSOCK(os.lstat(os.path.join(root, name)).st_mode):
                sockets.append(os.path.join(root, name))
        except OSError:
            pass
results["unix sockets"] = sockets
try:
    results["dns"] = sorted({a[4][0] for a in socket.getaddrinfo(plan["dns"], 80, type=socket.SOCK_STREAM)})
except OSError as exc:
    results["dns"] = type(exc).__name__
print(json.dumps(results))
"""

@pytest.fixture
def careless_services(tmp_path):
    """A service and a Redis that listen on every host interface, IPv4 and IPv6, as careless ones do."""
    service_port, redis_port = free_port(), free_port()
    service = start_listener([f":::{service_port}"])
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "0.0.0.0", "::", "--protected-mode",
                              "no", "--save", "", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    wait_for(lambda: tcp_port_open("127.0.0.1", redis_port), 10, "redis to listen")
    yield {"service": service_port, "redis": redis_port}
    stop(service)
    stop(redis)


def host_addresses(family: str = "-4") -> list[tuple[str, str]]:
    """(interface, address) of every address of this host but loopback."""
    out = sh("ip", "-o", family, "addr", "show").stdout
    found = [(line.split()[1], line.split()[3].split("/")[0]) for line in out.splitlines()]
    return [(interface, address) for interface, address in found if not ipaddress.ip_address(address).is_loopback]


def start_site(sites, files: dict[str, str]):
    """A static site with a published port; other test runs on this Docker daemon allocate ports from
    their own databases, so a port Docker finds taken is skipped."""
    for _ in range(10):
        try:
            return sites.start("static", files)
        except PortInUse:
            continue
    pytest.fail("no free port for a site")


def fenced(attempt):
    """Run `attempt` with our rules in place from start to end; another test run's (older) code may
    swap the shared chains meanwhile, and then the attempt proves nothing and is repeated."""
    for _ in range(3):
        ensure_site_firewall()
        result = attempt()
        if not firewall_problems(site_bridges(), blocked_networks()):
            return result
    pytest.fail("the site firewall kept being replaced by another version while the scan ran")


def run_probe(sites, plan: dict, network: str = settings.SITE_NETWORK) -> dict:
    spec = replace(sites.make_spec("python", {"README": "probe"}, ["python3", "-c", PROBE, json.dumps(plan)],
                                   publish=False), network=network)
    result = sites.engine.run_once(spec, timeout=120)
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_a_site_reaches_nothing_of_the_host_or_other_tenants_but_the_internet(
        platform, sites, outside, careless_services):
    victim = start_site(sites, {"index.html": "victim tenant"})
    # What listens on the host, and where the host itself reaches it (the positive control). The
    # careless ones listen everywhere; the platform's own listen on loopback; dockerd's TCP ports
    # and Redis's default port are tried in case anything listens there.
    host_ports = {
        "careless service": (careless_services["service"], "every"),
        "careless redis": (careless_services["redis"], "every"),
        "victim's published port": (victim.spec.host_port, "127.0.0.1"),
        "portal": (urlparse(platform.portal).port, "127.0.0.1"),
        "edge": (platform.edge_port, "127.0.0.1"),
        "database": (int(settings.DATABASES["default"]["PORT"]), settings.DATABASES["default"]["HOST"]),
        "dockerd tcp": (2375, None), "dockerd tls": (2376, None), "redis default": (6379, None),
    }
    forbidden = [(f"victim {victim.address}:5000", victim.address, 5000),
                 (f"private network {outside.private}:80", outside.private, 80),
                 (f"metadata {outside.metadata}:80", outside.metadata, 80),
                 (f"smtp {outside.internet}:25", outside.internet, 25)]
    controls = list(forbidden)
    for interface, address in host_addresses():
        for what, (port, listens_on) in host_ports.items():
            forbidden.append((f"host {interface} {address} {what}", address, port))
            if listens_on == "every":
                controls.append((what, address, port))
    controls += [(what, listens_on, port) for what, (port, listens_on) in host_ports.items()
                 if listens_on not in (None, "every")]
    allowed = [(f"internet {outside.internet}:80", outside.internet, 80)]
    edge_socket = EdgeNginx(prefix=platform.data_dir / "edge").control_socket
    redis_socket = urlparse(settings.REDIS_URL).path
    paths = ["/var/run/docker.sock", "/run/docker.sock", str(edge_socket), redis_socket, str(platform.data_dir)]

    # Positive controls: from the host every target answers, and those sockets exist.
    for name, address, port in controls + allowed:
        if not name.startswith("metadata") or outside.metadata in outside.routes:
            assert tcp_port_open(address, port), f"control: {name} ({address}:{port}) does not answer from the host"
    assert edge_socket.is_socket() and Path(redis_socket).is_socket()

    plan = {"connect": forbidden + allowed, "paths": paths, "dns": "deb.debian.org"}
    results = fenced(lambda: run_probe(sites, plan))

    reached = {name: results[name] for name, _, _ in forbidden if results[name] == "open"}
    assert reached == {}, f"a site container reached {reached}"
    assert {name: results[name] for name, _, _ in allowed} == {name: "open" for name, _, _ in allowed}
    assert all(results[f"path {path}"] == "absent" for path in paths), results
    assert results["unix sockets"] == []
    assert isinstance(results["dns"], list) and results["dns"], f"DNS through the host's resolver failed: {results['dns']}"
    # The fence answered (a reset), rather than the packets being lost somewhere.
    assert results[f"private network {outside.private}:80"] == "ConnectionRefusedError"
    assert victim.engine.state(victim.spec.name).running


def test_only_sites_of_plans_that_allow_mail_can_reach_port_25(sites, engine, outside):
    plan = {"connect": [("smtp", outside.internet, 25), ("web", outside.internet, 80)], "paths": [], "dns": "localhost"}

    blocked = fenced(lambda: run_probe(sites, plan))
    allowed = fenced(lambda: run_probe(sites, plan, network=settings.SITE_SMTP_NETWORK))

    assert (blocked["smtp"], blocked["web"]) == ("ConnectionRefusedError", "open")
    assert (allowed["smtp"], allowed["web"]) == ("open", "open")


def test_the_smtp_network_is_fenced_like_the_other(sites, engine, outside):
    neighbour = start_site(sites, {"index.html": "neighbour"})
    host = [(f"host {address}", address, 22) for interface, address in host_addresses()]
    plan = {"connect": [("neighbour", neighbour.address, 5000), ("private", outside.private, 80), *host],
            "paths": [], "dns": "localhost"}

    results = fenced(lambda: run_probe(sites, plan, network=settings.SITE_SMTP_NETWORK))

    assert "open" not in results.values(), results


# --- IPv6 ----------------------------------------------------------------------------------------
# Docker turns IPv6 off inside containers of a network without an IPv6 subnet, and a site cannot turn
# it on (no capabilities). These containers have it turned on, as on a host whose operator gave the
# site network IPv6: their link-local addresses reach the host and each other unless ip6tables stops them.

SERVE_V6 = r"""
import socket
server = socket.socket(socket.AF_INET6)
server.bind(("::", 5000))
server.listen(8)
while True:
    conn, _ = server.accept()
    conn.sendall(b"neighbour\n")
    conn.close()
"""


def start_ipv6_container(sites, command: list[str], detach: bool):
    spec = sites.make_spec("python", {"README": "ipv6"}, command, publish=False)
    return sites.engine.client.containers.run(
        spec.image, command, name=spec.name, detach=detach, network=settings.SITE_NETWORK, user="10000:10000",
        cap_drop=["ALL"], security_opt=["no-new-privileges:true"], read_only=True, mem_limit="64m", pids_limit=32,
        labels={"hosting.managed": "true", "hosting.site": spec.site},
        sysctls={"net.ipv6.conf.all.disable_ipv6": "0", "net.ipv6.conf.eth0.disable_ipv6": "0"},
        remove=not detach,
    )


def link_local(container) -> str:
    out = container.exec_run(["cat", "/proc/net/if_inet6"]).output.decode()
    for line in out.splitlines():
        raw, *_, interface = line.split()
        if interface == "eth0" and raw.startswith("fe80"):
            return str(ipaddress.IPv6Address(bytes.fromhex(raw)))
    raise AssertionError(f"no link-local address: {out}")


def test_a_site_with_ipv6_reaches_neither_the_host_nor_its_neighbours(sites, engine, careless_services):
    neighbour = start_ipv6_container(sites, ["python3", "-c", SERVE_V6], detach=True)
    def listening() -> bool:
        neighbour.reload()
        assert neighbour.status == "running", f"the neighbour stopped: {neighbour.attrs['State']} {neighbour.logs()[-2000:]}"
        return neighbour.exec_run(["python3", "-c", "import socket; socket.create_connection(('::1', 5000))"]).exit_code == 0

    wait_for(listening, 20, "the IPv6 neighbour to listen")
    neighbour_address = link_local(neighbour)
    host_link_local = next(a for i, a in host_addresses("-6") if i == settings.SITE_BRIDGE and a.startswith("fe80"))
    # Positive controls from the host, through the same bridge (the first try waits for neighbour discovery).
    wait_for(lambda: tcp_port_open(f"{neighbour_address}%{settings.SITE_BRIDGE}", 5000), 10, "the neighbour from the host")
    assert tcp_port_open(f"{host_link_local}%{settings.SITE_BRIDGE}", careless_services["service"])
    targets = [("neighbour", f"{neighbour_address}%eth0", 5000),
               ("host service", f"{host_link_local}%eth0", careless_services["service"]),
               ("host redis", f"{host_link_local}%eth0", careless_services["redis"])]
    plan = {"connect": targets, "paths": [], "dns": "localhost", "ipv6": True}

    def attempt() -> dict:
        output = start_ipv6_container(sites, ["python3", "-c", PROBE, json.dumps(plan)], detach=False)
        return json.loads(output.decode().strip().splitlines()[-1])

    results = fenced(attempt)

    assert "open" not in results.values(), results
    # The host answers for itself with a reset; the neighbour is not even found (neighbour discovery
    # between containers is refused too), so that attempt times out.
    assert (results["host service"], results["host redis"]) == ("ConnectionRefusedError", "ConnectionRefusedError")
    assert neighbour.exec_run(["python3", "-c", "import socket; socket.create_connection(('::1', 5000))"]).exit_code == 0
