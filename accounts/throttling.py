"""Throttles: API calls per token and per client address, failed authentications per address.

Counters live in Django's cache, which is Redis in production, so every gunicorn worker and
every web process counts together. Rates are settings (API_RATE_PER_TOKEN, API_RATE_PER_ADDRESS,
AUTH_FAILURES_PER_ADDRESS), read at each call so tests and operators can change them.
"""
from __future__ import annotations

import logging
import math
import time

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts.models import ApiToken

log = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For as written by NUM_PROXIES trusted
    proxies in front (the edge). A client's own X-Forwarded-For is never believed by default,
    else one header per request would dodge every per-address limit."""
    return BaseThrottle().get_ident(request) or "unknown"


def parse_rate(rate: str) -> tuple[int, int]:
    """'30/min' -> (30, 60)."""
    return SimpleRateThrottle.parse_rate(None, rate)


class _RateFromSettings(SimpleRateThrottle):
    setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def allow_request(self, request, view) -> bool:
        # Fails open: with the cache (Redis) down, reads and actions of the API still answer; the
        # request rate is a fairness limit, not a defence (failed authentications fail closed).
        try:
            return super().allow_request(request, view)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("API throttle skipped, the cache does not answer: %s", exc)
            return True


class TokenRateThrottle(_RateFromSettings):
    """API calls per token: one busy script cannot crowd out its own organization's other tokens."""

    scope = "token"
    setting = "API_RATE_PER_TOKEN"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return f"throttle:token:{request.auth.pk}"


class AddressRateThrottle(_RateFromSettings):
    """API calls per client address, whatever token they carry (or none)."""

    scope = "address"
    setting = "API_RATE_PER_ADDRESS"

    def get_cache_key(self, request, view) -> str:
        return f"throttle:address:{client_address(request)}"


class TooManyFailures(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(f"Too many failed authentications from your address; try again in {wait} s.")
        self.wait = wait


def record_auth_failure(request) -> None:
    """Count a failed authentication (API or git) from the request's address; past the limit
    raise TooManyFailures, which the caller answers with 429 instead of 401.

    A window per address that opens at its first failure and lasts the rate's period, shared by
    every worker through the cache. Not a window fixed to the clock (minute 12:41, minute 12:42):
    failures on both sides of a boundary would count in two windows, and the limit would let twice
    as many through in a moment.
    A valid token from the same address still works: it never reaches this function.
    Fails closed: with the cache (Redis) down the error propagates and the request answers 503
    (core.unavailable), so nobody can guess tokens while the counter is gone.
    """
    limit, period = parse_rate(settings.AUTH_FAILURES_PER_ADDRESS)
    address = client_address(request)
    now = time.time()
    # The first failure's time, set once (add): concurrent workers all read the same window.
    opened = float(cache.get_or_set(f"throttle:authfail-opened:{address}", now, timeout=period))
    # The count is per window, so a window that ends takes its count with it, whichever key expires first.
    key = f"throttle:authfail:{address}:{opened!r}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        count = 1
    if count > limit:
        raise TooManyFailures(wait=max(1, math.ceil(opened + period - now)))
