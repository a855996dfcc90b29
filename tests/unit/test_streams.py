"""Long streams: noticing a client that left, and giving everything back when a stream ends.

The Redis cap itself is exercised against the running platform in
tests/security/test_stream_starvation.py.
"""
from __future__ import annotations

import socket
import struct

import pytest

from sites import streams


@pytest.fixture
def connection():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def test_it_keeps_a_client_that_is_still_there(connection):
    server, _ = connection
    assert not streams.client_gone({"gunicorn.socket": server})


def test_it_keeps_a_client_that_sent_more_data(connection):
    server, client = connection
    client.sendall(b"GET / HTTP/1.1\r\n")
    assert not streams.client_gone({"gunicorn.socket": server})


def test_it_notices_a_client_that_closed(connection):
    server, client = connection
    client.close()
    assert streams.client_gone({"gunicorn.socket": server})


def test_it_notices_a_client_that_reset_its_connection():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    try:
        assert streams.client_gone({"gunicorn.socket": server})
    finally:
        server.close()
        listener.close()


def test_it_never_counts_a_client_without_a_socket_as_gone():
    assert not streams.client_gone({})


class FakeWatch:
    def __init__(self, wanted: bool) -> None:
        self._wanted = wanted
        self.started_count = self.closed_count = 0
        self.asked: list[bool] = []

    def started(self) -> None:
        self.started_count += 1

    def wanted(self, idle: bool) -> bool:
        self.asked.append(idle)
        return self._wanted

    def close(self) -> None:
        self.closed_count += 1


class Source:
    def __init__(self, chunks) -> None:
        self._chunks = iter(chunks)
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    def close(self) -> None:
        self.closed = True


def test_it_relays_chunks_and_asks_about_the_client_only_when_idle():
    source, watch = Source([b"a", None, b"b"]), FakeWatch(wanted=True)
    body = streams.WatchedStream(source, watch)
    assert list(body) == [b"", b"a", b"b"]
    assert watch.asked == [False, True, False]
    body.close()
    assert source.closed and watch.closed_count == 1 and watch.started_count == 1


def test_it_ends_and_gives_back_everything_when_the_client_left():
    source, watch = Source([None, b"never sent"]), FakeWatch(wanted=False)
    body = streams.WatchedStream(source, watch)
    assert list(body) == [b""]
    assert source.closed and watch.closed_count == 1


def test_it_gives_back_its_slot_when_closed_before_the_first_chunk():
    source, watch = Source([b"a"]), FakeWatch(wanted=True)
    streams.WatchedStream(source, watch).close()
    assert source.closed and watch.closed_count == 1
