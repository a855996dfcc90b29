from __future__ import annotations

import pytest

from core.routing import HostNotGiven, host_queue, route_task


def test_it_routes_control_and_proxy_tasks_by_app():
    assert route_task("sites.deploy", (), {}, {}) == {"queue": "control"}
    assert route_task("hosting.check_host_heartbeats", (), {}, {}) == {"queue": "control"}
    assert route_task("proxy.apply_edge_config", (), {}, {}) == {"queue": "proxy"}


def test_it_refuses_a_host_task_without_its_host():
    with pytest.raises(HostNotGiven, match="hosting.agent.refresh_capacity runs on a host"):
        route_task("hosting.agent.refresh_capacity", (), {}, {})


def test_it_leaves_an_explicit_queue_alone():
    assert route_task("hosting.agent.refresh_capacity", (), {}, {"queue": host_queue("web-1")}) is None
    assert host_queue("web-1") == "host.web-1"
