"""The base class of every platform task: which errors are retried and how."""
from __future__ import annotations

from celery import Task

from core.errors import TransientError

try:  # Celery >= 5.4: delay_on_commit / apply_async_on_commit
    from celery.contrib.django.task import DjangoTask as _Base
except ImportError:  # pragma: no cover
    _Base = Task


class PlatformTask(_Base):
    """Retries transient platform errors only; customers' errors are outcomes, not crashes.

    Send with `delay_on_commit` from inside a transaction, so a worker never looks for a row
    that is not committed yet.
    """

    autoretry_for = (TransientError, ConnectionError)
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 5
