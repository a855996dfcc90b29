"""`docker inspect` of a started site container shows every item of the container contract,
and the CIS Docker Benchmark's section 5 checks that apply to an application container pass."""
from __future__ import annotations

import pytest

from hosting.images import APP_UID
from tests.integration.support.sitelab import SMALL

pytestmark = pytest.mark.django_db

STATIC_APP = {"index.html": "contract"}


@pytest.fixture
def inspected(sites):
    site = sites.start("static", STATIC_APP)
    return site, sites.engine.inspect(site.spec.name)


def test_it_runs_as_the_non_root_app_user(inspected):
    _, doc = inspected
    assert doc["Config"]["User"] == f"{APP_UID}:{APP_UID}"


def test_it_has_a_read_only_root_and_a_size_limited_tmp(inspected):
    _, doc = inspected
    assert doc["HostConfig"]["ReadonlyRootfs"] is True
    assert "size=16m" in doc["HostConfig"]["Tmpfs"]["/tmp"]
    assert "nosuid" in doc["HostConfig"]["Tmpfs"]["/tmp"]


def test_it_mounts_only_the_slug_read_only_and_its_own_data_volume(inspected):
    site, doc = inspected
    mounts = {m["Destination"]: m for m in doc["Mounts"]}
    assert set(mounts) == {"/app", "/data"}
    assert mounts["/app"]["Source"] == str(site.spec.slug_dir) and mounts["/app"]["RW"] is False
    assert mounts["/data"]["Source"] == str(site.spec.data_dir) and mounts["/data"]["RW"] is True


def test_it_drops_every_capability_and_forbids_new_privileges(inspected):
    _, doc = inspected
    assert doc["HostConfig"]["CapDrop"] == ["ALL"]
    assert not doc["HostConfig"]["CapAdd"]
    assert "no-new-privileges:true" in doc["HostConfig"]["SecurityOpt"]
    assert doc["HostConfig"]["Privileged"] is False


def test_it_keeps_the_default_seccomp_profile(inspected):
    _, doc = inspected
    assert not any(opt.startswith("seccomp") for opt in doc["HostConfig"]["SecurityOpt"])
    assert doc["AppArmorProfile"] != "unconfined"


def test_it_applies_the_plans_memory_cpu_and_pids_limits(inspected):
    _, doc = inspected
    host = doc["HostConfig"]
    assert host["Memory"] == SMALL.memory_mb * 2**20
    assert host["MemorySwap"] == host["Memory"]  # swap equal to memory: no swap at all
    assert host["NanoCpus"] == SMALL.cpu_millicores * 10**6
    assert host["CpuShares"] == SMALL.cpu_millicores * 1024 // 1000
    assert host["PidsLimit"] == SMALL.pids


def test_it_rotates_logs(inspected):
    _, doc = inspected
    assert doc["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}


def test_it_is_named_and_labelled_for_site_release_and_instance(inspected):
    site, doc = inspected
    assert doc["Name"] == f"/site-{site.spec.site}-v1-web-1"
    labels = doc["Config"]["Labels"]
    assert labels["hosting.site"] == site.spec.site
    assert labels["hosting.release"] == "v1"
    assert labels["hosting.instance"] == "web-1"
    assert labels["hosting.managed"] == "true"


def test_it_publishes_its_port_only_on_the_service_address(inspected):
    site, doc = inspected
    assert doc["HostConfig"]["PortBindings"] == {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(site.spec.host_port)}]}
    assert doc["Config"]["Env"].count("PORT=5000") == 1


def test_it_is_on_the_isolated_site_network_only(inspected, settings):
    site, doc = inspected
    assert doc["HostConfig"]["NetworkMode"] == settings.SITE_NETWORK
    assert list(doc["NetworkSettings"]["Networks"]) == [settings.SITE_NETWORK]


def test_a_port_is_never_handed_out_twice(sites):
    first = sites.make_spec("static", STATIC_APP)
    second = sites.make_spec("static", STATIC_APP)
    assert first.host_port != second.host_port


# --- CIS Docker Benchmark v1.6, section 5: container runtime ---------------------------------------

SENSITIVE_HOST_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")


def cis_section_5_failures(doc: dict) -> list[str]:
    """The section 5 checks that apply to an application container; returns the failed ones."""
    host = doc["HostConfig"]
    failed = []

    def check(number: str, title: str, ok: bool) -> None:
        if not ok:
            failed.append(f"{number} {title}")

    check("5.3", "Linux kernel capabilities are restricted", host["CapDrop"] == ["ALL"] and not host["CapAdd"])
    check("5.4", "privileged containers are not used", host["Privileged"] is False)
    check("5.5", "sensitive host system directories are not mounted",
          all(m["Source"] not in SENSITIVE_HOST_DIRS and not any(m["Source"].startswith(d + "/") for d in SENSITIVE_HOST_DIRS[1:])
              for m in doc["Mounts"]))
    check("5.7", "privileged ports are not mapped",
          all(int(b["HostPort"]) >= 1024 for bindings in (host["PortBindings"] or {}).values() for b in bindings))
    check("5.9", "the host's network namespace is not shared", host["NetworkMode"] != "host")
    check("5.10", "memory usage is limited", host["Memory"] > 0)
    check("5.11", "CPU priority is set", host["CpuShares"] not in (0, 1024) and host["NanoCpus"] > 0)
    check("5.12", "the root filesystem is mounted read-only", host["ReadonlyRootfs"] is True)
    check("5.13", "incoming traffic is bound to a specific host interface",
          all(b["HostIp"] not in ("", "0.0.0.0", "::") for bindings in (host["PortBindings"] or {}).values() for b in bindings))
    check("5.14", "restart policy is on-failure with at most 5 retries",
          host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 5})
    check("5.15", "the host's process namespace is not shared", host["PidMode"] != "host")
    check("5.16", "the host's IPC namespace is not shared", host["IpcMode"] != "host")
    check("5.17", "host devices are not exposed", not host["Devices"])
    check("5.19", "mount propagation is not shared", all(m.get("Propagation") not in ("shared", "rshared") for m in doc["Mounts"]))
    check("5.20", "the host's UTS namespace is not shared", host["UTSMode"] != "host")
    check("5.21", "the default seccomp profile is not disabled", "seccomp=unconfined" not in (host["SecurityOpt"] or []))
    check("5.24", "the cgroup is the default one", not host["CgroupParent"])
    check("5.25", "the container cannot gain new privileges", "no-new-privileges:true" in (host["SecurityOpt"] or []))
    check("5.26", "container health is checked at runtime", bool(doc["Config"].get("Healthcheck", {}).get("Test")))
    check("5.28", "the PIDs cgroup limit is used", (host["PidsLimit"] or 0) > 0)
    check("5.29", "Docker's default bridge docker0 is not used", host["NetworkMode"] not in ("default", "bridge"))
    check("5.30", "the host's user namespace is not shared", host["UsernsMode"] != "host")
    check("5.31", "the Docker socket is not mounted", all("docker.sock" not in m["Source"] for m in doc["Mounts"]))
    return failed


def test_it_passes_the_cis_docker_benchmark_section_5(inspected):
    _, doc = inspected
    assert cis_section_5_failures(doc) == []


def test_the_cis_checks_catch_a_container_that_breaks_them():
    # The checks must be able to fail: a container doc with the classic mistakes.
    bad = {
        "HostConfig": {
            "CapDrop": None, "CapAdd": ["SYS_ADMIN"], "Privileged": True, "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "80"}]},
            "NetworkMode": "host", "Memory": 0, "CpuShares": 0, "NanoCpus": 0, "ReadonlyRootfs": False,
            "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}, "PidMode": "host", "IpcMode": "host",
            "Devices": [{"PathOnHost": "/dev/kmsg"}], "UTSMode": "host", "SecurityOpt": ["seccomp=unconfined"],
            "CgroupParent": "", "PidsLimit": None, "UsernsMode": "host",
        },
        "Mounts": [{"Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "Propagation": "rshared"},
                   {"Source": "/etc", "Destination": "/host-etc", "Propagation": ""}],
        "Config": {},
    }
    failed = {line.split()[0] for line in cis_section_5_failures(bad)}
    assert failed == {"5.3", "5.4", "5.5", "5.7", "5.9", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16",
                      "5.17", "5.19", "5.20", "5.21", "5.25", "5.26", "5.28", "5.30", "5.31"}


def test_its_health_check_passes_while_it_answers(inspected):
    site, doc = inspected
    test = doc["Config"]["Healthcheck"]["Test"]
    assert test[0] == "CMD"
    result = site.engine.client.containers.get(site.spec.name).exec_run(test[1:])
    assert result.exit_code == 0, result.output


def test_its_output_pipes_hold_a_minute_of_logs_while_dockerd_is_away(inspected):
    """With live-restore nobody reads a container's output while dockerd restarts; a 64 KiB pipe
    fills with a busy site's access log in seconds and the site blocks (hosting/log_pipes.py)."""
    from hosting import log_pipes

    _, doc = inspected
    for stream in log_pipes.STREAMS:
        assert log_pipes.size_of(doc["Id"], stream=stream) == log_pipes.PIPE_BYTES
