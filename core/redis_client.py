"""A redis-py client for REDIS_URL, which is written in Celery's (kombu's) URL dialect."""
from __future__ import annotations

import redis

SOCKET_SCHEME = "redis+socket://"


def redis_py_url(url: str) -> str:
    """Kombu spells a unix socket `redis+socket:///path`; redis-py (and Django's cache) `unix:///path`."""
    if url.startswith(SOCKET_SCHEME):
        return "unix://" + url[len(SOCKET_SCHEME):]
    return url


def redis_client(url: str, timeout: float = 2.0) -> redis.Redis:
    return redis.Redis.from_url(redis_py_url(url), socket_timeout=timeout, socket_connect_timeout=timeout)
