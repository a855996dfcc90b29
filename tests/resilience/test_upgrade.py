"""`make upgrade`'s last step on the running platform: the control plane restarts, the sites
serve throughout, and neither the edge's master nor any site container is restarted."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.integration.support.processes import BASE_DIR
from tests.resilience.load import Load
from tests.resilience.test_kill_every_process import deploy_sites, edge_workers, site_containers

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_upgrade_restarts_the_control_plane_while_every_site_and_the_portal_serve(deploy_env, tmp_path):
    platform = deploy_env[0]
    expected = deploy_sites(deploy_env, tmp_path, count=2)
    containers = site_containers(expected)
    processes = platform.processes
    before = {name: processes[name].pid for name in processes}
    web_workers = edge_workers(before["web"])  # gunicorn's workers, found the same way as nginx's
    portal_failures = []
    stop = threading.Event()

    def use_the_portal():
        # Answers may be slow while the new workers import the platform on two busy cores; what
        # counts is that none is refused or fails.
        while not stop.is_set():
            try:
                if requests.get(f"{platform.portal}/admin/login/", timeout=30).status_code != 200:
                    portal_failures.append("status")
            except requests.RequestException as exc:
                portal_failures.append(type(exc).__name__)
            time.sleep(0.05)

    portal = threading.Thread(target=use_the_portal, daemon=True)
    with Load(platform.edge_port, expected) as load:
        portal.start()
        upgrade = subprocess.run([sys.executable, "-m", "launcher.upgrade", "--supervisor",
                                  str(processes.directory)], cwd=BASE_DIR, env=platform.env,
                                 capture_output=True, text=True, timeout=600)
        stop.set()
        portal.join(10)
        sent, failures = load.sent_so_far(), list(load.failures)

    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "Upgraded." in upgrade.stdout
    after = {name: processes[name].pid for name in processes}
    assert after["edge"] == before["edge"]  # reloaded, not restarted
    assert after["web"] == before["web"] and not web_workers & edge_workers(after["web"])  # graceful reload
    for name in ("worker", "beat", "agent", "edge_worker"):
        assert after[name] != before[name], f"{name} was not restarted"
    assert sent > 100 and not failures, failures[:5]
    assert not portal_failures, portal_failures[:5]
    assert site_containers(expected) == containers
