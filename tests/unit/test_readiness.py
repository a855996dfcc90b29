"""Readiness reads what the tenant's container shows (its sockets, its output) strictly, and says
at once when the app listens where the platform cannot reach it. The container is faked at our own
interface (what readiness asks of the engine); nothing listens on the probed port."""
from __future__ import annotations

import socket
import time

import pytest

from hosting.readiness import (
    AppExited,
    AppNeverAnswered,
    AppOnWrongPort,
    HealthCheck,
    listening_sockets,
    ports_in_log,
    wait_until_healthy,
)
from hosting.spec import ContainerState

# /proc/net/tcp of a container whose app listens on 0.0.0.0:3000 and has a connection out, beside
# Docker's DNS resolver (127.0.0.11).
TCP_3000 = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 1 1 0000000000000000 100 0 0 10 0
   1: 0B00007F:B2CD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
   2: 0200A8C0:D2F0 0100A8C0:01BB 01 00000000:00000000 00:00000000 00000000 10001        0 2 1 0000000000000000 20 4 1 10 -1
"""
# ... and one that listens on 127.0.0.1:5000 only (tcp6 header and nothing else in tcp6).
TCP_LOOPBACK_5000 = """   0: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 1 1 0 100 0 0 10 0
  sl  local_address                         remote_address                        st tx_queue rx_queue
"""


class Container:
    def __init__(self, sockets: str = "", log: str = "", running: bool = True) -> None:
        self.sockets, self.log, self.running = sockets, log, running
        self.probes = 0

    def state(self, name: str) -> ContainerState:
        return ContainerState(name=name, id="c", status="running" if self.running else "exited", running=self.running,
                              exit_code=None if self.running else 3, oom_killed=False, labels={}, host_port=None)

    def logs(self, name: str, tail: int = 100) -> str:
        return self.log

    def probe_output(self, name: str, command: list[str]) -> str:
        self.probes += 1
        return self.sockets


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_reads_listening_sockets_and_nothing_else():
    assert listening_sockets(TCP_3000) == {(3000, False)}
    assert listening_sockets(TCP_LOOPBACK_5000) == {(5000, True)}
    assert listening_sockets("   0: 00000000:0BB8 00000000:0000 0A; rm -rf /\n0: garbage 0A \n") == set()


def test_it_finds_ports_the_log_mentions_other_than_port():
    log = "Server listening on port 3000\nhttp://0.0.0.0:8000/\n[::]:5000 PORT=5000\nport 99999 http://x:1234/\x1b[31m"
    assert ports_in_log(log, 5000) == [3000, 8000]


def test_an_app_on_another_port_fails_at_once_saying_both_ports():
    container = Container(TCP_3000, "> node server.js\nExample app listening on port 3000\n")
    started = time.monotonic()
    with pytest.raises(AppOnWrongPort) as raised:
        wait_until_healthy(container, "c", "127.0.0.1", closed_port(), 5000, HealthCheck(), timeout=60)
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "listens on port 3000, but $PORT is 5000" in message
    assert "Its log mentions port 3000; $PORT is 5000." in message and "Example app listening" in message


def test_an_app_on_its_loopback_address_only_is_told_to_listen_on_every_address():
    with pytest.raises(AppOnWrongPort, match="port 5000 of its loopback address only"):
        wait_until_healthy(Container(TCP_LOOPBACK_5000), "c", "127.0.0.1", closed_port(), 5000, HealthCheck(), 60)


def test_an_app_still_booting_gets_the_whole_timeout_and_the_log_hint():
    container = Container("", "starting on :8080 soon\n")
    with pytest.raises(AppNeverAnswered, match=r"did not answer HTTP on \$PORT \(5000\) within 2 s\. "
                                               r"Its log mentions port 8080; \$PORT is 5000\."):
        wait_until_healthy(container, "c", "127.0.0.1", closed_port(), 5000, HealthCheck(), timeout=2)
    assert container.probes >= 2  # it looked at the sockets while it waited


def test_an_app_that_exits_says_its_exit_code():
    with pytest.raises(AppExited, match="exited with code 3"):
        wait_until_healthy(Container(running=False, log="Parse error"), "c", "127.0.0.1", closed_port(), 5000,
                           HealthCheck(), timeout=5)
