"""The edge nginx, started as the Procfile starts it, answers every unknown host with 404."""
from __future__ import annotations

import pytest
import requests

from launcher.processes import free_tcp_port, tcp_port_open
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_any_host_with_a_plain_404(start_process, tmp_path):
    port = free_tcp_port()
    edge = start_process("edge", ["manage.py", "edge"], DATA_DIR=str(tmp_path / "data"), PROXY_HTTP_PORT=str(port))
    wait_for(lambda: tcp_port_open("127.0.0.1", port), 30, f"the edge to listen on {port}")

    for host in ("anything.apps.localhost", "example.com", "127.0.0.1"):
        response = requests.get(f"http://127.0.0.1:{port}/some/path", headers={"Host": host}, timeout=5)
        assert response.status_code == 404
        assert "<h1>No site here</h1>" in response.text
    assert (tmp_path / "data" / "edge" / "nginx.conf").exists()
    assert edge.popen.poll() is None, edge.output()
