"""From inside a site container: no other tenant, no host service, no metadata, no writes outside
/tmp and /data, and no more than the quota in /data; the internet stays reachable."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess

import pytest
from django.conf import settings

from hosting.spec import ResourceLimits

pytestmark = pytest.mark.django_db

PROBE = """
import json, socket, sys
results = {}
for target in json.loads(sys.argv[1]):
    host, port = target.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        results[target] = "open"
    except socket.timeout:
        results[target] = "timeout"
    except OSError as exc:
        results[target] = type(exc).__name__
    finally:
        s.close()
print(json.dumps(results))
"""


def host_addresses() -> list[str]:
    """This host's IPv4 addresses other than loopback (its LAN address, docker0, the site bridge)."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True).stdout
    addresses = [line.split()[3].split("/")[0] for line in out.splitlines()]
    return [a for a in addresses if not a.startswith("127.")]


@pytest.fixture
def host_service():
    """A service listening on all of the host's interfaces, as a careless Redis or database would."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def redis_on_all_interfaces(tmp_path):
    port = socket.socket()
    port.bind(("0.0.0.0", 0))
    number = port.getsockname()[1]
    port.close()
    redis = subprocess.Popen(["redis-server", "--port", str(number), "--bind", "0.0.0.0", "--protected-mode", "no",
                              "--save", "", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    from launcher.processes import tcp_port_open
    from tests.integration.support.processes import wait_for

    wait_for(lambda: tcp_port_open("127.0.0.1", number), 10, "redis to listen")
    yield number
    redis.terminate()
    redis.wait()


def probe(sites, targets: list[str]) -> dict[str, str]:
    result = sites.run_once("python", ["python3", "-c", PROBE, json.dumps(targets)], timeout=120)
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_it_cannot_reach_other_tenants_or_the_hosts_services(sites, host_service, redis_on_all_interfaces):
    other = sites.start("static", {"index.html": "other tenant"})
    database_port = settings.DATABASES["default"]["PORT"]
    targets = [f"{other.address}:5000"]
    for address in host_addresses():
        targets += [f"{address}:{port}" for port in
                    (host_service, redis_on_all_interfaces, database_port, 6379, 5432, 2375, 2376, 8000, 8080, other.spec.host_port)]
    targets += ["169.254.169.254:80", "127.0.0.1:6379", f"127.0.0.1:{database_port}"]

    # Positive controls: from the host, the same services and the other tenant do answer.
    from launcher.processes import tcp_port_open

    lan = next(a for a in host_addresses() if not a.startswith(("172.17.", settings.SITE_SUBNET.split(".")[0] + ".")))
    assert tcp_port_open(lan, host_service) and tcp_port_open(lan, redis_on_all_interfaces)
    assert tcp_port_open(other.address, 5000)

    results = probe(sites, targets)

    reached = {target: outcome for target, outcome in results.items() if outcome == "open"}
    assert reached == {}, f"a site container reached {reached}"


def test_it_can_reach_the_internet(sites):
    results = probe(sites, ["deb.debian.org:80", "pypi.org:443"])
    assert results == {"deb.debian.org:80": "open", "pypi.org:443": "open"}


def test_it_has_no_docker_socket(sites):
    result = sites.run_once("python", ["bash", "-c", "ls -la /var/run/docker.sock /run/docker.sock 2>&1; true"])
    assert result.output.count("No such file or directory") == 2, result.output


WRITE_PROBE = """
import json, os
results = {}
for path in ["/app/new.txt", "/etc/new.txt", "/new.txt", "/usr/local/bin/new", "/var/tmp/new", "/tmp/new.txt", "/data/new.txt"]:
    try:
        with open(path, "w") as f:
            f.write("x")
        results[path] = "written"
    except OSError as exc:
        results[path] = exc.strerror
print(json.dumps(results))
"""


def test_it_can_write_only_to_tmp_and_data(sites):
    result = sites.run_once("python", ["python3", "-c", WRITE_PROBE])

    outcome = json.loads(result.output.strip().splitlines()[-1])
    assert outcome.pop("/tmp/new.txt") == "written"
    assert outcome.pop("/data/new.txt") == "written"
    assert set(outcome.values()) == {"Read-only file system"}, outcome


def test_data_beyond_the_quota_fails_without_touching_the_hosts_space(sites):
    fill = "dd if=/dev/zero of=/data/fill bs=1M count=200 2>&1; echo exit=$?; df -m /data | tail -1"
    free_before = shutil.disk_usage(settings.VOLUMES_DIR).free

    result = sites.run_once("python", ["bash", "-c", fill], disk_mb=32,
                            limits=ResourceLimits(memory_mb=128, cpu_millicores=500, pids=32))

    assert "No space left on device" in result.output, result.output
    assert "exit=1" in result.output
    written_on_host = free_before - shutil.disk_usage(settings.VOLUMES_DIR).free
    assert written_on_host < 40 * 2**20, f"the host lost {written_on_host / 2**20:.0f} MB"
