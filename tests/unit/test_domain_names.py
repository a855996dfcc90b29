"""A domain is reached in the API by the name the customer typed (bücher.example) as well as by its
punycode, and its verification note names the record that points it at the platform (issue 15)."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from sites.models import Domain

pytestmark = pytest.mark.django_db

PUNYCODE = "xn--bcher-kva.example"


@pytest.fixture
def idn(world):
    return Domain.objects.create(site=world["site"], hostname=f"www.{PUNYCODE}", verification_token="t")


@pytest.mark.parametrize("typed", ["www.bücher.example", f"www.{PUNYCODE}", "WWW.Bücher.Example."])
def test_a_domain_is_found_by_the_name_typed_and_by_its_punycode(world, idn, typed):
    api = world["client"]("owner")
    url = f"/api/v1/sites/shop/domains/{quote(typed)}/"
    body = api.get(url).json()
    assert body["hostname"] == f"www.{PUNYCODE}"
    verified = api.post(f"{url}verify/")  # the world's DNS says yes
    assert verified.status_code == 200 and verified.json()["verified"] is True, verified.content
    assert api.delete(url).status_code == 204 and not Domain.objects.filter(pk=idn.pk).exists()


def test_another_organizations_idn_is_still_a_404(world, idn):
    assert world["client"]("outsider").get(f"/api/v1/sites/shop/domains/{quote('www.bücher.example')}/").status_code == 404


def test_the_note_names_the_cname_target_of_a_subdomain(world, idn):
    note = world["client"]("owner").get(f"/api/v1/sites/shop/domains/www.{PUNYCODE}/").json()["verification"]["note"]
    assert f"CNAME record www.{PUNYCODE} -> shop.apps.localhost" in note


def test_the_note_names_the_edges_addresses_for_an_apex_name(world, settings):
    settings.EDGE_PUBLIC_ADDRESS = "203.0.113.7, 2001:db8::7"
    Domain.objects.create(site=world["site"], hostname="example.org", verification_token="u")
    note = world["client"]("owner").get("/api/v1/sites/shop/domains/example.org/").json()["verification"]["note"]
    assert "A record example.org -> 203.0.113.7 and AAAA record example.org -> 2001:db8::7" in note


def test_without_an_edge_address_the_apex_note_falls_back_to_the_default_domain(world, settings):
    settings.EDGE_PUBLIC_ADDRESS = ""
    Domain.objects.create(site=world["site"], hostname="example.org", verification_token="u")
    note = world["client"]("owner").get("/api/v1/sites/shop/domains/example.org/").json()["verification"]["note"]
    assert "ALIAS record example.org -> shop.apps.localhost" in note and "A record with the address" in note
