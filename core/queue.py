"""Is the task queue there? Asked before an action records anything that only a task can finish.

The web refuses such an action with 503 when Redis does not answer, rather than recording a row
(a deployment, say) that would wait for a task nobody sent.
"""
from __future__ import annotations

import logging

import redis
from django.conf import settings
from kombu.exceptions import OperationalError as QueueSendError

from core.errors import QueueUnavailable
from core.redis_client import redis_client

log = logging.getLogger(__name__)

# One quick try: a request must not hang on a queue that is gone (the connect timeout is 1 s).
SEND_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def ensure_queue_reachable() -> None:
    client = redis_client(settings.REDIS_URL, timeout=1.0)
    try:
        client.ping()
    except redis.RedisError as exc:  # refused, timed out, or something else answering: not our queue
        log.warning("the task queue does not answer: %s", exc)
        raise QueueUnavailable() from None
    finally:
        client.close()


def send_now(task, args: list, queue: str) -> None:
    """Send `task` with one quick retry; QueueUnavailable when the queue does not take it."""
    try:
        task.apply_async(args=args, queue=queue, retry_policy=SEND_RETRY_POLICY)
    except QueueSendError as exc:
        log.warning("the task queue refused %s: %s", task.name, exc)
        raise QueueUnavailable() from None
