from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_int, env_list, secret_from_env_or_file


def test_it_reads_typed_values_with_defaults(monkeypatch):
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    monkeypatch.delenv("X_MISSING", raising=False)
    assert env_int("X_INT", 1) == 42
    assert env_int("X_MISSING", 7) == 7
    assert env_bool("X_BOOL", False) is True
    assert env_list("X_LIST", []) == ["a", "b", "c"]


def test_it_explains_a_malformed_value(monkeypatch):
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT must be a whole number, not 'ten'"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL must be true or false"):
        env_bool("X_BOOL", False)


def test_it_generates_a_secret_once_in_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("X_SECRET", raising=False)
    path = tmp_path / "secrets" / "key"
    first = secret_from_env_or_file("X_SECRET", path, lambda: "generated-value")
    second = secret_from_env_or_file("X_SECRET", path, lambda: "another-value")
    assert first == second == "generated-value"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_it_prefers_the_secret_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("X_SECRET", "from-env")
    path = tmp_path / "key"
    assert secret_from_env_or_file("X_SECRET", path, lambda: "generated") == "from-env"
    assert not path.exists()


def test_it_checks_each_edge_address(monkeypatch):
    from core.env import env_addresses

    monkeypatch.setenv("EDGE_PUBLIC_ADDRESS", " 203.0.113.5, 2001:db8::5 ")
    assert env_addresses("EDGE_PUBLIC_ADDRESS") == "203.0.113.5,2001:db8::5"
    monkeypatch.setenv("EDGE_PUBLIC_ADDRESS", "203.0.113.5,edge.example.com")
    with pytest.raises(ImproperlyConfigured, match="'edge.example.com' is not an IP address"):
        env_addresses("EDGE_PUBLIC_ADDRESS")
