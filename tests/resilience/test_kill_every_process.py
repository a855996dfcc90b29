"""`kill -9` of each of the platform's processes, one at a time, while sites are under load.

The sites must not notice a control-plane process (web, worker, beat, agent, the edge's worker
queue), Redis or the Docker daemon going away: zero failed requests. The edge is the data plane
itself: when its master or one of its workers dies, traffic is back within 2 s. Every killed
process runs again within 10 s, and no site container was restarted or recreated.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import docker
import pytest

from launcher.services import docker_answers
from launcher.supervisor import Supervisor
from tests.integration.support.deploying import create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for
from tests.resilience.load import Load

pytestmark = pytest.mark.django_db(transaction=True)

CONTROL_PLANE = ["web", "worker", "beat", "agent", "edge_worker"]
RESTART_WITHIN = 10  # seconds
EDGE_BACK_WITHIN = 2  # seconds
SETTLE = 4  # seconds of load after a process is back, for late effects (a reconcile that restarts a site)


def services() -> Supervisor:
    """The supervisord of `make test`'s own services (PostgreSQL, Redis and dockerd if it started one)."""
    directory = os.environ.get("HOSTING_SERVICES_SUPERVISOR")
    if not directory:
        pytest.fail("these tests kill the services `make test` supervises; run them with make test")
    return Supervisor.attach(Path(directory), Path(directory).parent / "log")


def deploy_sites(deploy_env, tmp_path, count: int = 3) -> dict[str, str]:
    platform = deploy_env[0]
    expected = {}
    for n in range(count):
        site = create_site(deploy_env, f"steady{n}")
        text = f"steady site {n} {site}"
        push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": f"<p>{text}</p>\n"}), site)
        wait_for(lambda: text in served(platform, site).text, 60, f"{site} to go live")
        expected[f"{site}.apps.localhost"] = text
    return expected


def site_containers(expected: dict[str, str]) -> dict[str, str]:
    """The running containers of these sites: id -> when it started (a restart changes it)."""
    client = docker.from_env()
    try:
        return {c.id: c.attrs["State"]["StartedAt"]
                for hostname in expected
                for c in client.containers.list(filters={"label": f"hosting.site={hostname.split('.')[0]}"})}
    finally:
        client.close()


def kill(process) -> float:
    """kill -9 the supervised `process`; returns when it is running again under a new pid."""
    old = process.pid
    killed_at = time.monotonic()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: process.running and process.pid not in (0, old), RESTART_WITHIN,
             f"{process.name} to run again after kill -9")
    return killed_at


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False


def edge_workers(master: int) -> set[int]:
    children = set()
    for task in Path(f"/proc/{master}/task").iterdir():
        children |= {int(pid) for pid in (task / "children").read_text().split()}
    return children


def kill_each_under_load(deploy_env, tmp_path, targets: list[str]) -> None:
    """kill -9 each of `targets` in turn (the platform's processes, or `make test`'s services) while
    three sites are under load; no request may fail and no site container may restart."""
    platform = deploy_env[0]
    expected = deploy_sites(deploy_env, tmp_path)
    containers = site_containers(expected)
    backing = services()
    results = {}
    with Load(platform.edge_port, expected) as load:
        wait_for(lambda: load.sent_so_far() > 50, 30, "the load to start")
        for name in targets:
            killed_at = kill(platform.processes[name] if name in platform.processes else backing[name])
            back_after = time.monotonic() - killed_at
            if name == "dockerd":
                wait_for(lambda: docker_answers() and site_containers(expected) == containers, 30,
                         "the Docker API to answer again")
            time.sleep(SETTLE)
            results[name] = (back_after, [(round(f.at - killed_at, 2), f.hostname, f.reason)
                                          for f in load.failures_since(killed_at)])
        sent = load.sent_so_far()

    report = "\n".join(f"{name}: back after {back:.1f} s, {len(failed)} failed: {failed[:3]}"
                       for name, (back, failed) in results.items())
    print(f"{sent} requests\n{report}")
    assert sent > 100 * len(targets), report
    assert all(not failed for _, failed in results.values()), report
    assert site_containers(expected) == containers, "a site container was restarted or recreated"


def test_killing_any_control_plane_process_or_redis_fails_no_request(deploy_env, tmp_path):
    kill_each_under_load(deploy_env, tmp_path, CONTROL_PLANE + ["redis"])


def test_killing_the_docker_daemon_fails_no_request(deploy_env, tmp_path):
    if "dockerd" not in services():
        pytest.skip("dockerd was not started by `make test` (a daemon already answered), so it is not ours to kill")
    kill_each_under_load(deploy_env, tmp_path, ["dockerd"])


def test_after_every_kill_the_control_plane_still_deploys(deploy_env, tmp_path):
    """Nothing of the platform's state was lost: a push after the kills goes live."""
    platform = deploy_env[0]
    site = create_site(deploy_env, "after")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "<p>after the kills</p>\n"}), site)
    wait_for(lambda: "after the kills" in served(platform, site).text, 60, f"{site} to go live")


def test_the_edge_serves_again_within_two_seconds_of_losing_its_master_or_a_worker(deploy_env, tmp_path):
    platform = deploy_env[0]
    expected = deploy_sites(deploy_env, tmp_path, count=2)
    edge = platform.processes["edge"]
    with Load(platform.edge_port, expected) as load:
        wait_for(lambda: load.sent_so_far() > 50, 30, "the load to start")

        workers = edge_workers(edge.pid)
        worker = min(workers)
        killed_at = time.monotonic()
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: len(edge_workers(edge.pid) - {worker}) == len(workers), RESTART_WITHIN,
                 "nginx to start a new worker")
        time.sleep(SETTLE)
        worker_failures = load.failures_since(killed_at)

        old_master = edge.pid
        killed_at = kill(edge)
        # The new process is Python until it has read the routes and execs nginx: the old master's
        # workers serve meanwhile, and the new master retires them.
        wait_for(lambda: Path(f"/proc/{edge.pid}/comm").read_text().strip() == "nginx",
                 RESTART_WITHIN - (time.monotonic() - killed_at), "the new edge master to be nginx")
        time.sleep(SETTLE)
        master_failures = load.failures_since(killed_at)
        served_after = load.sent_so_far()

    print(f"{served_after} requests; edge worker killed: {len(worker_failures)} failed; "
          f"edge master killed: {len(master_failures)} failed")
    for what, failures in (("worker", worker_failures), ("master", master_failures)):
        if failures:
            outage = max(f.at for f in failures) - min(f.at for f in failures)
            assert outage <= EDGE_BACK_WITHIN, f"edge {what}: failures for {outage:.1f} s: {failures[:5]}"
    assert served_after > 200
    # The killed master's workers were told to finish: none of them is left serving.
    assert "its workers were told to finish" in edge.output()
    wait_for(lambda: not group_alive(old_master), 30, "the old master's workers to exit")
