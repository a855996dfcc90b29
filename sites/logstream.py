"""A deployment's log as it happens: lines go to a Redis stream that the git hook and the API follow.

When the deployment ends, the whole text is kept on the Deployment row; the stream expires.
"""
from __future__ import annotations

import time
from typing import Iterator

from django.conf import settings

from core.redis_client import redis_client

MAX_LINES = 20000
MAX_LINE = 4000
# What one deployment's log may keep (in Redis, then on its row in the database): a build that
# prints without end must not fill the platform's disk.
MAX_BYTES = 2 * 2**20
TRUNCATED = " !     The log is longer than 2 MB; the platform dropped the lines after this one."
KEEP_SECONDS = 24 * 3600
END = b"end"  # the field of the entry that closes a finished deployment's log


def _key(deployment_id: int) -> str:
    return f"deploylog:{deployment_id}"


class DeploymentLog:
    """One deployment's log stream; use it as a context manager so its connection always closes."""

    max_bytes = MAX_BYTES
    truncated = TRUNCATED

    def __init__(self, deployment_id: int) -> None:
        self.deployment_id = deployment_id
        self.key = self.key_of(deployment_id)
        self._redis = redis_client(settings.REDIS_URL, timeout=10)

    @staticmethod
    def key_of(deployment_id: int) -> str:
        return _key(deployment_id)

    def write(self, line: str, from_app: bool = False) -> None:
        """Add a line. Lines the app printed (a build's, a release command's) count against
        MAX_BYTES: past it they are dropped, with one note, so a build printing without end cannot
        fill the platform's disk; the platform's own lines always go in."""
        key = self.key
        line = line.rstrip("\n")[:MAX_LINE]
        if from_app and self._redis.incrby(f"{key}:bytes", len(line) + 1) > self.max_bytes:
            if not self._redis.set(f"{key}:cut", 1, nx=True, ex=KEEP_SECONDS):
                return
            line = self.truncated
        pipe = self._redis.pipeline()
        pipe.xadd(key, {"l": line}, maxlen=MAX_LINES, approximate=True)
        pipe.expire(key, KEEP_SECONDS)
        pipe.expire(f"{key}:bytes", KEEP_SECONDS)
        pipe.execute()

    def end(self) -> None:
        """Mark the log complete, once the deployment's row says it finished: a follower stops at
        the mark at once instead of finding out from the database on its next poll."""
        pipe = self._redis.pipeline()
        pipe.xadd(self.key, {END: b"1"}, maxlen=MAX_LINES, approximate=True)
        pipe.expire(self.key, KEEP_SECONDS)
        pipe.execute()

    def text(self) -> str:
        entries = self._redis.xrange(self.key)
        return "".join(fields[b"l"].decode(errors="replace") + "\n" for _, fields in entries if b"l" in fields)

    def follow(self, finished, timeout: float, quiet: bool = False) -> Iterator[str | None]:
        """Yield lines as they come until the end mark, or until `finished()` is true and nothing
        is left (a deployment failed while Redis was away has no mark), or `timeout` passes.
        With `quiet`, None after each half second without a line (a stream then looks at its client)."""
        last = "0-0"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = finished()  # read before draining, so no line written before the end is missed
            batches = self._redis.xread({self.key: last}, block=500, count=500)
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    last = entry_id
                    if END in fields:
                        return
                    yield fields[b"l"].decode(errors="replace")
            if done and not batches:
                return
            if quiet and not batches:
                yield None

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> "DeploymentLog":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class RunLog(DeploymentLog):
    """A one-off command's or scheduled job's output (sites/runs.py), kept like a deployment's but
    smaller: a job that runs every minute keeps many of them."""

    max_bytes = 512 * 1024
    truncated = " !     The output is longer than 512 KB; the platform dropped the lines after this one."

    @staticmethod
    def key_of(run_id: int) -> str:
        return f"runlog:{run_id}"


def append_to_log(deployment_id: int, *lines: str) -> None:
    """Add the platform's own lines to a deployment's log (one connection for them all)."""
    with DeploymentLog(deployment_id) as stream:
        for line in lines:
            stream.write(line)


def end_log(deployment_id: int) -> None:
    """Mark a finished deployment's log complete (call it once its row is committed)."""
    with DeploymentLog(deployment_id) as stream:
        stream.end()


def close_log(deployment_id: int, *last_lines: str) -> str:
    """Add the last lines and return the whole log, to keep on the deployment's row."""
    with DeploymentLog(deployment_id) as stream:
        for line in last_lines:
            stream.write(line)
        return stream.text()
