"""The Domains tab: the default and custom domains, the exact DNS records to create, verification,
TLS state, each role's rights, and a query count that does not grow with domains."""
from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.services import create_organization
from proxy.models import Certificate
from sites import domains
from sites.models import Domain
from sites.services import create_site
from tests.unit.portal_client import queries_of, signed_in

pytestmark = pytest.mark.django_db

PAGE = "/sites/shop/domains/"


def _hostnames(site) -> set[str]:
    return set(Domain.objects.filter(site=site).values_list("hostname", flat=True))


@pytest.fixture
def roomy(world):
    plan = world["site"].plan
    plan.max_custom_domains = 100
    plan.save()
    return world


@pytest.mark.parametrize("method, url", [
    ("get", PAGE), ("post", PAGE), ("post", PAGE + "www.example.com/verify/"), ("post", PAGE + "www.example.com/delete/"),
])
def test_the_outsider_gets_404_everywhere(world, method, url):
    assert getattr(signed_in("outsider"), method)(url, {"hostname": "a.example.org"}).status_code == 404


@pytest.mark.parametrize("who", ["developer", "viewer"])
@pytest.mark.parametrize("url", [PAGE, PAGE + "www.example.com/verify/", PAGE + "www.example.com/delete/"])
def test_developers_and_viewers_may_not_change_domains(world, who, url):
    before = _hostnames(world["site"])
    assert signed_in(who).post(url, {"hostname": "new.example.org"}).status_code == 403
    assert _hostnames(world["site"]) == before
    assert not Domain.objects.get(hostname="www.example.com").verified


def test_a_developer_sees_the_domains_without_controls(world):
    page = signed_in("developer").get(PAGE).content.decode()
    assert "shop.apps.localhost" in page and "www.example.com" in page
    assert "/verify/" not in page and "/delete/" not in page and 'name="hostname"' not in page


def test_it_shows_the_exact_records_for_a_subdomain(world):
    page = signed_in("owner").get(PAGE).content.decode()
    assert "<code>CNAME</code>" in page and "<code>shop.apps.localhost</code>" not in page  # the default is a link
    assert ">shop.apps.localhost</code>" in page  # what the CNAME points at
    assert ">_hosting-verify.www.example.com</code>" in page and ">hosting-verify=t</code>" in page
    assert "http://www.example.com/.well-known/hosting-verification" in page
    assert "1 of " in page and "custom domains used" in page


def test_an_apex_domain_gets_an_a_record_to_the_edge_address(roomy, settings):
    settings.EDGE_PUBLIC_ADDRESS = "203.0.113.7"
    Domain.objects.create(site=roomy["site"], hostname="example.org", verification_token="u")
    page = signed_in("owner").get(PAGE).content.decode()
    assert "<code>A</code>" in page and ">203.0.113.7</code>" in page


def test_without_an_edge_address_an_apex_domain_is_explained(roomy, settings):
    settings.EDGE_PUBLIC_ADDRESS = ""
    Domain.objects.create(site=roomy["site"], hostname="example.org", verification_token="u")
    page = signed_in("owner").get(PAGE).content.decode()
    assert "<code>ALIAS</code>" in page and "create an A record with the address shop.apps.localhost resolves to" in page


def test_an_admin_adds_a_domain_and_sees_its_records(roomy):
    response = signed_in("admin").post(PAGE, {"hostname": "Blog.Example.ORG"}, follow=True)
    domain = Domain.objects.get(hostname="blog.example.org")
    page = response.content.decode()
    assert "Added blog.example.org" in page and f"hosting-verify={domain.verification_token}" in page


@pytest.mark.parametrize("hostname, error", [
    ("*.example.org", "Wildcard domains are not supported"),
    ("shop2.apps.localhost", "Names under apps.localhost and localhost belong to the platform."),
    ("192.0.2.1", "An IP address is not a domain name."),
])
def test_a_bad_domain_shows_the_error_and_changes_nothing(world, hostname, error):
    before = _hostnames(world["site"])
    response = signed_in("owner").post(PAGE, {"hostname": hostname})
    assert response.status_code == 400 and error in response.content.decode()
    assert _hostnames(world["site"]) == before


def test_at_the_plan_limit_it_says_so_and_adds_nothing(world):
    plan = world["site"].plan
    plan.max_custom_domains = 1
    plan.save()
    response = signed_in("owner").post(PAGE, {"hostname": "more.example.org"})
    assert "Your plan allows 1 custom domains per site." in response.content.decode()
    assert "more.example.org" not in _hostnames(world["site"])


def test_verify_now_verifies(world):
    page = signed_in("owner").post(PAGE + "www.example.com/verify/", follow=True).content.decode()
    assert Domain.objects.get(hostname="www.example.com").verified
    assert "www.example.com is verified" in page and "_hosting-verify.www.example.com" not in page


def test_a_failed_verification_shows_the_services_error(world, monkeypatch, settings):
    monkeypatch.setattr(domains, "_txt_matches", lambda domain: False)
    settings.DOMAIN_VERIFICATION_ADDRESS = "127.0.0.1:1"  # nothing answers there
    page = signed_in("admin").post(PAGE + "www.example.com/verify/", follow=True).content.decode()
    assert ("www.example.com is not verified yet: neither the TXT record _hosting-verify.www.example.com nor "
            "http://www.example.com/.well-known/hosting-verification shows the token.") in page
    assert not Domain.objects.get(hostname="www.example.com").verified


def test_a_domain_under_another_organizations_name_is_verified_by_txt_only(world):
    other = create_site(create_organization("initech", "boss@initech.example"), "initech")
    Domain.objects.create(site=other, hostname="api.example.com", verification_token="v", verified_at=timezone.now())
    page = signed_in("owner").get(PAGE).content.decode()
    assert "only the TXT record proves this one is yours" in page


def test_removing_a_domain(world):
    page = signed_in("owner").post(PAGE + "www.example.com/delete/", follow=True).content.decode()
    assert "www.example.com" not in _hostnames(world["site"]) and "Removed www.example.com" in page


def test_the_default_domain_cannot_be_removed(world):
    page = signed_in("owner").post(PAGE + "shop.apps.localhost/delete/", follow=True).content.decode()
    assert "The default domain cannot be removed." in page and "shop.apps.localhost" in _hostnames(world["site"])


def test_it_shows_tls_state_and_errors(world):
    Domain.objects.filter(hostname="www.example.com").update(verified_at=timezone.now())
    Certificate.objects.create(hostname="www.example.com", group="a" * 32, state="failed",
                               error="DNS problem: NXDOMAIN looking up A for www.example.com")
    page = signed_in("viewer").get(PAGE).content.decode()
    assert "DNS problem: NXDOMAIN looking up A for www.example.com" in page and 'badge failed' in page


def test_its_query_count_does_not_grow_with_domains(roomy):
    site = roomy["site"]

    def add(prefix: str, n: int) -> None:
        now = timezone.now()
        Domain.objects.bulk_create([Domain(site=site, hostname=f"{prefix}{i}.example.net", verification_token="t",
                                           verified_at=now if i % 2 else None) for i in range(n)])
        Certificate.objects.bulk_create([Certificate(hostname=f"{prefix}{i}.example.net", group="a" * 32, state="issued")
                                         for i in range(1, n, 2)])

    add("few", 4)
    few = queries_of(PAGE)
    add("many", 25)
    assert queries_of(PAGE) == few
