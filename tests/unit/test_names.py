"""The naming rules defined once in core.names, as every app applies them."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.services import create_organization
from core.names import is_dns_label, is_env_key
from tests.unit.test_engine_spec import spec
from proxy.validation import InvalidRouteValue, validate_hostname
from sites.validation import validate_env_key, validate_site_name


@pytest.mark.parametrize("value", ["a", "h1", "my-host", "x" * 63])
def test_it_takes_a_dns_label(value):
    assert is_dns_label(value)


@pytest.mark.parametrize("value", ["", "-a", "a-", "A", "a_b", "a.b", "x" * 64, "ok\n", None, 7])
def test_it_refuses_what_is_not_a_dns_label(value):
    assert not is_dns_label(value)


@pytest.mark.parametrize("key, ok", [("DATABASE_URL", True), ("_x", True), ("1A", False), ("A-B", False),
                                     ("A\n", False), ("K" * 129, False)])
def test_it_applies_one_env_key_rule(key, ok):
    assert is_env_key(key) is ok


@pytest.mark.parametrize("name", ["1blog", "ab", "x" * 41])
def test_a_site_name_is_a_dns_label_of_3_to_40_starting_with_a_letter(name):
    assert is_dns_label(name)
    with pytest.raises(ValidationError):
        validate_site_name(name)


@pytest.mark.parametrize("name", ["blog\n", "Blog", "bl_og", "-blog"])
def test_every_app_refuses_what_is_not_a_dns_label(name):
    with pytest.raises(ValidationError):
        validate_site_name(name)
    with pytest.raises(InvalidRouteValue):
        validate_hostname(f"{name}.example.com")
    with pytest.raises(ValueError):
        spec(site=name)


def test_an_env_key_with_a_newline_is_refused_by_sites_and_the_engine():
    with pytest.raises(ValidationError):
        validate_env_key("KEY\n")
    with pytest.raises(ValueError):
        spec(env={"KEY\n": "x"})


@pytest.mark.django_db
def test_an_organization_slug_is_a_dns_label_of_at_most_40():
    with pytest.raises(ValidationError):
        create_organization("acme\n", "owner@example.com")
    with pytest.raises(ValidationError):
        create_organization("a" * 41, "owner@example.com")
    assert create_organization("a" * 40, "owner@example.com").slug == "a" * 40
