"""The transactional tests' teardown flush is retried when PostgreSQL picks it as a deadlock's
victim (a real worker started by the test still writing), and only then."""
import psycopg.errors
import pytest
from django.core.management.base import CommandError
from django.db import OperationalError

from tests.conftest import FLUSH_ATTEMPTS, _flush_retrying_on_lock_conflicts


def _flush_failing(times, psycopg_error):
    calls = []

    def flush(test_case):
        calls.append(test_case)
        if len(calls) <= times:
            try:
                try:
                    raise psycopg_error
                except psycopg.Error as error:
                    raise OperationalError(str(error)) from error
            except OperationalError as error:
                raise CommandError("Database test_hosting couldn't be flushed.") from error

    return flush, calls


def test_a_flush_chosen_as_deadlock_victim_runs_again(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    flush, calls = _flush_failing(2, psycopg.errors.DeadlockDetected("deadlock detected"))
    _flush_retrying_on_lock_conflicts(flush)("case")
    assert calls == ["case", "case", "case"]


def test_a_flush_that_keeps_deadlocking_fails_in_the_end(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    flush, calls = _flush_failing(FLUSH_ATTEMPTS, psycopg.errors.DeadlockDetected("deadlock detected"))
    with pytest.raises(CommandError):
        _flush_retrying_on_lock_conflicts(flush)("case")
    assert len(calls) == FLUSH_ATTEMPTS


def test_any_other_flush_failure_is_not_retried(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    flush, calls = _flush_failing(1, psycopg.errors.UndefinedTable("relation does not exist"))
    with pytest.raises(CommandError):
        _flush_retrying_on_lock_conflicts(flush)("case")
    assert calls == ["case"]
