"""Long-lived responses (log follows, pushes): a per-organization cap, and a client that left.

The web server runs gevent workers, so a stream waits as a greenlet, not a thread; what a stream
still holds is a file descriptor, a Docker or git process and a slot of its organization's cap.
A stream gives them back as soon as its client is gone, even when it has nothing to send: every
few seconds, when idle, it looks at the client's socket.

The cap is a sorted set per organization in Redis (shared by every web worker): one member per
open stream, scored by when its lease runs out. An open stream renews its lease while it runs, so
the slot of a worker that died frees itself.
"""
from __future__ import annotations

import functools
import logging
import select
import socket
import time
import uuid
from typing import Iterable

import redis
from django.conf import settings
from django.db import connections

from core.redis_client import redis_client

log = logging.getLogger(__name__)

LEASE_SECONDS = 60

# Drop expired leases, then take a slot if one is free: one atomic step across all workers.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class TooManyStreams(Exception):
    def __init__(self, cap: int) -> None:
        super().__init__(
            f"Your organization already has {cap} log or push streams at once, the most it may hold; "
            "close one (or wait for a push to finish) and try again."
        )


def _key(organization_id: int) -> str:
    return f"streams:org:{organization_id}"


@functools.cache
def _redis() -> redis.Redis:
    # One client (and its connection pool) per process, shared by its streams.
    return redis_client(settings.REDIS_URL)


def open_streams(organization_id: int) -> int:
    """How many streams of the organization are open now (expired leases not counted)."""
    return _redis().zcount(_key(organization_id), time.time(), "+inf")


class StreamSlot:
    """One stream's place in its organization's cap; `release` is idempotent."""

    def __init__(self, organization_id: int) -> None:
        self.key = _key(organization_id)
        self.member = uuid.uuid4().hex
        self._redis = _redis()
        self._renewed = 0.0
        self.released = False

    def acquire(self, cap: int) -> bool:
        now = time.time()
        taken = self._redis.eval(_ACQUIRE, 1, self.key, now, cap, now + LEASE_SECONDS, self.member, LEASE_SECONDS * 2)
        self._renewed = time.monotonic()
        return bool(taken)

    def renew(self) -> None:
        if time.monotonic() - self._renewed < LEASE_SECONDS / 3:
            return
        self._renewed = time.monotonic()
        try:
            pipe = self._redis.pipeline()
            pipe.zadd(self.key, {self.member: time.time() + LEASE_SECONDS}, xx=True)
            pipe.expire(self.key, LEASE_SECONDS * 2)
            pipe.execute()
        except redis.RedisError:  # a stream outlives a short Redis outage; its slot may lapse meanwhile
            log.warning("could not renew stream slot %s of %s", self.member, self.key, exc_info=True)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            self._redis.zrem(self.key, self.member)
        except redis.RedisError:  # the lease runs out by itself; a failed release must not hide the stream's own error
            log.warning("could not release stream slot %s of %s", self.member, self.key, exc_info=True)


def take_slot(organization_id: int) -> StreamSlot:
    """A slot of the organization's stream cap, or TooManyStreams."""
    slot = StreamSlot(organization_id)
    if not slot.acquire(settings.STREAMS_PER_ORGANIZATION):
        slot.release()
        raise TooManyStreams(settings.STREAMS_PER_ORGANIZATION)
    return slot


def client_gone(environ: dict) -> bool:
    """True when the client closed or reset its connection (a readable socket with nothing to read).

    Only gunicorn says which socket the request came on; elsewhere (tests' in-process client) a
    client never counts as gone. Data waiting on the socket (a request body, a pipelined request)
    means the client is still there.
    """
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        if not readable_now(sock.fileno()):
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # reset, or already closed
        return True


def readable_now(fd: int, timeout: float = 0) -> bool:
    """Whether `fd` has data (or its end, or an error) within `timeout` seconds.

    poll, not select: a web worker serves a thousand connections, and select() cannot watch a
    descriptor numbered above 1023. (gevent's patched poll waits as a greenlet.)
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


class StreamWatch:
    """What every stream checks while it waits: its client, its lease and its time limit."""

    def __init__(self, environ: dict, slot: StreamSlot) -> None:
        self.environ = environ
        self.slot = slot
        self.deadline = time.monotonic() + settings.STREAM_MAX_SECONDS

    def wanted(self, idle: bool) -> bool:
        """Whether to keep streaming; renews the lease while so.

        Only an idle stream looks at the socket: a busy one learns that its client left when a
        write fails.
        """
        if time.monotonic() > self.deadline or (idle and client_gone(self.environ)):
            return False
        self.slot.renew()
        return True

    def started(self) -> None:
        # The request's database work is done: a stream waits for an hour, a connection must not.
        connections.close_all()

    def close(self) -> None:
        self.slot.release()


class WatchedStream:
    """`chunks` as a response body that ends early when the watch says so.

    A class, not a generator: the server calls close() even when it never asked for a chunk (a
    generator closed before its start would skip its cleanup), and close() gives everything back.
    A chunk of None from the source means it was quiet for STREAM_CHECK_SECONDS.
    """

    def __init__(self, chunks: Iterable[bytes | None], watch: StreamWatch) -> None:
        self._chunks = iter(chunks)
        self._watch = watch
        self._started = False
        self._closed = False

    def __iter__(self) -> "WatchedStream":
        return self

    def __next__(self) -> bytes:
        if not self._started:
            self._started = True
            self._watch.started()
            # The server sends the response head with the first chunk: an empty one sends it now,
            # so that a client knows it was let in before the first line comes.
            return b""
        while not self._closed:
            chunk = next(self._chunks)
            if not self._watch.wanted(idle=chunk is None):
                self.close()
                break
            if chunk is not None:
                return chunk
        raise StopIteration

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._watch.close()  # first: the source's own close may wait for a process to end
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


def watched(environ: dict, slot: StreamSlot, chunks: Iterable[bytes | None]) -> WatchedStream:
    """`chunks` as a response body held to the slot's lease, the client and the time limit."""
    return WatchedStream(chunks, StreamWatch(environ, slot))
