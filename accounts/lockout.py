"""Login lockout: the attacker waits, the account's owner does not.

Failed logins (a wrong password or a wrong two-factor code) are counted in Django's cache (Redis
in production, shared by every web worker) twice: per (account, client address) and per client
address. LOGIN_FAILURES_PER_ACCOUNT_ADDRESS failures of one pair lock that pair only, so someone
guessing a customer's password from one address does not lock the customer out from their own;
LOGIN_FAILURES_PER_ADDRESS failures from one address, whatever the accounts, lock the address.
Every lock ends after LOGIN_LOCKOUT_SECONDS. The account is what was typed (lowercased), known
or not, so the lock says nothing about whether an account exists.

Fails closed: with the cache down its error propagates and the page answers 503 (core.unavailable),
so nobody can guess passwords while the counters are gone.
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache


class LockedOut(Exception):
    def __init__(self, wait_seconds: int) -> None:
        minutes = max(1, math.ceil(wait_seconds / 60))
        super().__init__(
            f"Too many failed logins: try again in {minutes} minute{'s' if minutes != 1 else ''}. "
            "If you forgot your password, reset it."
        )
        self.wait_seconds = wait_seconds


def _pair(account: str, address: str) -> str:
    # Hashed: the cache's keys hold neither e-mail addresses nor arbitrary typed text.
    digest = hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]
    return f"login:pair:{digest}:{_network(address)}"


def _address(address: str) -> str:
    return f"login:address:{_network(address)}"


def _network(address: str) -> str:
    """The IPv4 address, or the IPv6 /64 it is in: one client is given a whole /64 and could
    otherwise try from a fresh address each time."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def ensure_not_locked(account: str, address: str) -> None:
    """Raise LockedOut while the pair or the address waits."""
    locks = cache.get_many([f"{_pair(account, address)}:lock", f"{_address(address)}:lock"])
    until = max(locks.values(), default=0)
    now = time.time()
    if until > now:
        raise LockedOut(math.ceil(until - now))


def record_failure(account: str, address: str) -> None:
    """Count a failed login; raise LockedOut when this one reached a limit."""
    locked = [
        _count(_pair(account, address), settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS),
        _count(_address(address), settings.LOGIN_FAILURES_PER_ADDRESS),
    ]
    if any(locked):
        raise LockedOut(settings.LOGIN_LOCKOUT_SECONDS)


def record_success(account: str, address: str) -> None:
    """A full login (password and any second factor): the pair's earlier failures are forgiven."""
    cache.delete(f"{_pair(account, address)}:count")


def _count(key: str, limit: int) -> bool:
    """Add one failure under `key`; at `limit`, lock `key` for the lockout and start counting anew."""
    period = settings.LOGIN_LOCKOUT_SECONDS
    counter = f"{key}:count"
    # Failures older than one lockout period are forgotten: the window starts at the first one.
    cache.add(counter, 0, timeout=period)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.add(counter, 1, timeout=period)
        count = 1
    if count < limit:
        return False
    cache.set(f"{key}:lock", time.time() + period, timeout=period + 1)
    cache.delete(counter)
    return True
