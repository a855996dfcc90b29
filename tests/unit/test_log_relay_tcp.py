"""The log relay's TCP listener on the host's service address: it reads only the one site instance
of this host that a request's fresh token grants (hosting/log_relay.py, hosting/log_access.py)."""
from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from hosting.log_access import TOKEN_HEADER, grant
from hosting.log_relay import MISSING, TcpLogRelay, allowed_target, header, token_ref_check
from hosting.spec import LABEL_FLEET, LABEL_HOST, LABEL_SITE

FLEET = "f" * 16
SHOP = "site-shop-v1-d1"
SHOP_ID = "b" * 64
CONTAINERS = {
    SHOP: (SHOP, {LABEL_SITE: "shop", LABEL_FLEET: FLEET, LABEL_HOST: "h2"}),
    SHOP_ID: (SHOP, {LABEL_SITE: "shop", LABEL_FLEET: FLEET, LABEL_HOST: "h2"}),
    "site-blog-v1-d2": ("site-blog-v1-d2", {LABEL_SITE: "blog", LABEL_FLEET: FLEET, LABEL_HOST: "h2"}),
    "site-shop-v1-r1": ("site-shop-v1-r1", {LABEL_SITE: "shop"}),  # a one-off (release command): no instance
    "site-old-v1-d9": ("site-old-v1-d9", {LABEL_SITE: "old", LABEL_FLEET: FLEET, LABEL_HOST: "h1"}),  # another host's
    "site-them-v1-d3": ("site-them-v1-d3", {LABEL_SITE: "them", LABEL_FLEET: "0" * 16, LABEL_HOST: "h2"}),  # another fleet's
    "postgres": ("postgres", {}),
}


def lookup(ref: str):
    return CONTAINERS.get(ref, MISSING)


def head_with(token: str | None) -> bytes:
    return b"GET / HTTP/1.1\r\nHost: x\r\n" + (f"{TOKEN_HEADER}: {token}\r\n".encode() if token else b"") + b"\r\n"


def check(token: str | None, host: str = "h2"):
    return token_ref_check(head_with(token), host, FLEET, lookup)


def test_it_reads_the_one_instance_its_token_grants_by_name_or_by_id():
    granted = check(grant("h2", SHOP))

    assert granted(SHOP) and granted(SHOP_ID)
    assert allowed_target(f"/v1.41/containers/{SHOP_ID}/logs?stdout=1&stderr=1&follow=1&tail=100", granted)


@pytest.mark.parametrize("ref", ["site-blog-v1-d2", "postgres", "site-shop-v1-r1", "site-old-v1-d9", "site-them-v1-d3"])
def test_it_refuses_every_other_container_whatever_it_is(ref):
    assert not check(grant("h2", SHOP))(ref)


@pytest.mark.parametrize("ref", ["site-shop-v1-r1", "site-old-v1-d9", "site-them-v1-d3", "postgres"])
def test_it_refuses_containers_that_are_no_instance_of_this_host_even_with_a_token_for_them(ref):
    assert not check(grant("h2", ref))(ref)


def test_it_refuses_a_token_for_another_host_or_none():
    assert not check(grant("h1", SHOP))(SHOP)
    assert not check(None)(SHOP)
    assert not check("garbage")(SHOP)


def test_it_lets_docker_say_that_the_granted_instance_is_gone_and_nothing_else():
    assert check(grant("h2", "site-gone-v1-d5"))("site-gone-v1-d5")
    assert not check(grant("h2", SHOP))("site-gone-v1-d5")


@pytest.mark.parametrize("query", ["stdout=1", "stdout=1&tail=all", "tail=5001", "tail=10&tail=20", "tail=-1"])
def test_it_refuses_logs_without_a_bounded_tail(query):
    assert not allowed_target(f"/v1.41/containers/{SHOP}/logs?{query}", lambda ref: True)


def test_it_reads_the_token_header_only_once_given():
    assert header(b"GET / HTTP/1.1\r\nx-hosting-log-token: abc\r\n\r\n", TOKEN_HEADER) == "abc"
    twice = b"GET / HTTP/1.1\r\nX-Hosting-Log-Token: a\r\nX-Hosting-Log-Token: b\r\n\r\n"
    assert header(twice, TOKEN_HEADER) == ""


class FakeDocker(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers every request with one line and keeps the request lines it got."""

    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.requests: list[bytes] = []
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server.requests.append(self.request.recv(8192).split(b"\r\n", 1)[0])
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlines")

        super().__init__(path, Handler)


@pytest.fixture
def relay(tmp_path):
    docker = FakeDocker(str(tmp_path / "docker.sock"))
    relay = TcpLogRelay(("127.0.0.1", 0), str(tmp_path / "docker.sock"), "h2", lookup)
    relay.fleet = FLEET
    for server in (docker, relay):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield relay.server_address, docker
    relay.shutdown()
    docker.shutdown()
    relay.server_close()
    docker.server_close()


def ask(address, target: str, token: str | None) -> bytes:
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n".encode()
                     + (f"{TOKEN_HEADER}: {token}\r\n".encode() if token else b"") + b"\r\n")
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
        return answer


def test_it_passes_a_granted_read_to_docker_and_refuses_the_rest_over_tcp(relay):
    address, docker = relay
    logs = f"/v1.41/containers/{SHOP}/logs?stdout=1&tail=10"

    assert ask(address, logs, grant("h2", SHOP)).endswith(b"\r\n\r\nlines")
    assert ask(address, logs, None).startswith(b"HTTP/1.1 403")
    assert ask(address, logs, grant("h1", SHOP)).startswith(b"HTTP/1.1 403")
    assert ask(address, "/v1.41/containers/postgres/logs?tail=10", grant("h2", "postgres")).startswith(b"HTTP/1.1 403")
    assert docker.requests == [f"GET {logs} HTTP/1.1".encode()]
