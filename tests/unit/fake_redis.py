"""An in-memory stand-in for the Redis client that `core.redis_client.redis_client` returns, for the
unit tier: the commands the platform's own code sends (queue checks, deployment logs, counters), with
a switch that makes every command fail as a Redis that went away does."""
from __future__ import annotations

import itertools
from collections import defaultdict

import redis


class FakeRedis:
    def __init__(self) -> None:
        self.down = False
        self.values: dict[str, object] = {}
        self.streams: dict[str, list[tuple[bytes, dict[bytes, bytes]]]] = defaultdict(list)
        self.lists: dict[str, list[bytes]] = defaultdict(list)
        self._ids = itertools.count(1)

    def _answer(self) -> None:
        if self.down:
            raise redis.ConnectionError("the fake Redis is down")

    # --- connection ----------------------------------------------------------------------------

    def ping(self) -> bool:
        self._answer()
        return True

    def close(self) -> None:
        pass

    # --- strings and counters -------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        self._answer()
        value = self.values.get(key)
        return None if value is None else str(value).encode()

    def set(self, key: str, value, nx: bool = False, ex: int | None = None) -> bool | None:
        self._answer()
        if nx and key in self.values:
            return None
        self.values[key] = value
        return True

    def incrby(self, key: str, amount: int = 1) -> int:
        self._answer()
        self.values[key] = int(self.values.get(key, 0)) + amount
        return self.values[key]

    def incr(self, key: str, amount: int = 1) -> int:
        return self.incrby(key, amount)

    def expire(self, key: str, seconds: int) -> bool:
        self._answer()
        return key in self.values or key in self.streams

    def delete(self, *keys: str) -> int:
        self._answer()
        return sum(self.values.pop(k, None) is not None or self.streams.pop(k, None) is not None for k in keys)

    # --- lists (Celery's queues) ----------------------------------------------------------------

    def lpush(self, key: str, *values) -> int:
        self._answer()
        self.lists[key][:0] = [v if isinstance(v, bytes) else str(v).encode() for v in reversed(values)]
        return len(self.lists[key])

    def llen(self, key: str) -> int:
        self._answer()
        return len(self.lists.get(key, []))

    # --- streams ---------------------------------------------------------------------------------

    def xadd(self, key: str, fields: dict, maxlen: int | None = None, approximate: bool = True) -> bytes:
        self._answer()
        entry_id = f"{next(self._ids)}-0".encode()
        encoded = {str(k).encode(): v if isinstance(v, bytes) else str(v).encode() for k, v in fields.items()}
        self.streams[key].append((entry_id, encoded))
        if maxlen is not None:
            del self.streams[key][:-maxlen]
        return entry_id

    def xrange(self, key: str) -> list:
        self._answer()
        return list(self.streams.get(key, []))

    def xread(self, streams: dict, block: int | None = None, count: int | None = None) -> list:
        self._answer()
        found = []
        for key, last in streams.items():
            after = int(str(last.decode() if isinstance(last, bytes) else last).split("-")[0])
            entries = [e for e in self.streams.get(key, []) if int(e[0].decode().split("-")[0]) > after][:count]
            if entries:
                found.append((key.encode(), entries))
        return found

    def pipeline(self) -> "FakePipeline":
        return FakePipeline(self)


class FakePipeline:
    """Commands queued, then run in order by execute(), as redis-py's pipeline does."""

    def __init__(self, fake: FakeRedis) -> None:
        self._fake = fake
        self._calls: list = []

    def __getattr__(self, command: str):
        def queue(*args, **kwargs) -> "FakePipeline":
            self._calls.append((getattr(self._fake, command), args, kwargs))
            return self
        return queue

    def execute(self) -> list:
        return [call(*args, **kwargs) for call, args, kwargs in self._calls]
