"""The staff's site page and its actions, deployments and releases, through the admin's URLs with
Django's test client. The unit tier has no Docker daemon: the site page must say so, not fail."""
from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth import get_user_model

from accounts import audit
from accounts.models import AuditEvent
from hosting.models import Host, Instance
from proxy import services as proxy
from sites import runtime_logs
from sites.config_crypto import encrypt
from sites.logstream import append_to_log
from sites.models import Deployment, Domain, EnvVar, Site
from tests.staff_users import client_of, superuser, support_engineer, with_two_factor

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-VALUE-never-shown"


def site_url(site: Site, rest: str = "change/") -> str:
    return f"/admin/sites/site/{site.pk}/{rest}"


@pytest.fixture
def shop(world):
    """acme's shop running on h1, with a secret env var (also in its release's config)."""
    site = Site.objects.get(pk=world["site"].pk)
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running")
    EnvVar.objects.create(site=site, key="DATABASE_PASSWORD", encrypted_value=encrypt(SECRET))
    site.current_release.encrypted_config = encrypt(f'{{"DATABASE_PASSWORD": "{SECRET}"}}')
    site.current_release.save()
    Site.objects.filter(pk=site.pk).update(current_instance=instance)
    site.refresh_from_db()
    return site


def test_it_shows_host_release_domains_deployments_and_env_names_but_never_a_value(shop):
    page = client_of(superuser()).get(site_url(shop)).content.decode()

    assert "site-shop-v1-d1" in page and ">h1</a>" in page
    assert ">v1</a>" in page
    assert "www.example.com" in page and "not verified" in page and "shop.apps.localhost (default)" in page
    assert f'/admin/sites/deployment/{Deployment.objects.get(site=shop).pk}/change/' in page
    assert "<code>DATABASE_PASSWORD</code>" in page
    assert SECRET not in page
    release = client_of(superuser("boss2")).get(f"/admin/sites/release/{shop.current_release.pk}/change/")
    assert release.status_code == 200 and SECRET not in release.content.decode()
    assert "encrypted" not in release.content.decode()


def test_it_says_docker_cannot_be_asked_rather_than_failing(shop):
    response = client_of(superuser()).get(site_url(shop))

    assert response.status_code == 200
    assert 'id="container-note">Docker on host h1 could not be asked through its agent' in response.content.decode()


def test_it_shows_the_containers_state_and_last_lines(shop, monkeypatch):
    class Engine:
        def __init__(self, host, container: str, timeout: int) -> None:
            assert (host.name, container) == ("h1", "site-shop-v1-d1")  # through its own host's agent

        def state(self, name):
            return runtime_logs.ContainerState(name=name, id="abc123def4567890", status="exited", running=False,
                                               exit_code=137, oom_killed=True, labels={}, host_port=None)

        def logs(self, name, tail):
            return f"<b>boot</b> of {name}\nlast of {tail}\n"

        def close(self) -> None:
            pass

    monkeypatch.setattr(runtime_logs, "instance_engine", Engine)
    page = client_of(superuser()).get(site_url(shop)).content.decode()

    assert "<strong>exited</strong>" in page and "exit code 137" in page and "killed: out of memory" in page
    assert "&lt;b&gt;boot&lt;/b&gt; of site-shop-v1-d1\nlast of 50" in page


def test_it_shows_the_traceback_behind_an_internal_error_and_links_it(shop):
    failed = Deployment.objects.create(site=shop, trigger="push", state="failed",
                                       error="An internal error stopped this deployment (reference #9).",
                                       internal_error="Traceback (most recent call last):\nZeroDivisionError: <oops>")
    client = client_of(support_engineer())

    site_page = client.get(site_url(shop)).content.decode()
    deployment_page = client.get(f"/admin/sites/deployment/{failed.pk}/change/").content.decode()

    assert f'href="/admin/sites/deployment/{failed.pk}/change/#traceback">internal error: see traceback' in site_page
    assert 'id="traceback">Traceback (most recent call last):\nZeroDivisionError: &lt;oops&gt;</pre>' in deployment_page


def test_it_shows_a_running_deployments_live_log(shop):
    running = Deployment.objects.create(site=shop, trigger="push", state="building")
    append_to_log(running.pk, "-----> building the slug")

    page = client_of(superuser()).get(f"/admin/sites/deployment/{running.pk}/change/").content.decode()

    assert "-----&gt; building the slug" in page


def test_it_lets_support_restart_and_the_audit_log_names_them(shop):
    helper = support_engineer()

    response = client_of(helper).post(site_url(shop, "act/restart/"))

    assert response.status_code == 302
    restart = Deployment.objects.get(site=shop, trigger="restart")
    assert restart.created_by == helper
    event = AuditEvent.objects.get(action="site.restart")
    assert event.actor == helper and event.by_staff


def test_it_links_the_site_to_its_own_audit_events(shop):
    client = client_of(support_engineer())
    client.post(site_url(shop, "act/restart/"))
    audit.record(shop.organization, "env.set", "OTHER_SITES_KEY", site="blog")  # another site of acme

    page = client.get(site_url(shop)).content.decode()
    link = re.search(r'<a href="([^"]+)">its audit log</a>', page).group(1)
    listed = client.get(html.unescape(link)).content.decode()
    actions = re.findall(r'<td class="field-action">([^<]*)</td>', listed)  # the rows, not the filter's links

    assert "site.restart" in actions and "env.set" not in actions and "OTHER_SITES_KEY" not in listed


def test_it_redeploys_the_current_release(shop):
    client_of(support_engineer()).post(site_url(shop, "act/redeploy/"))

    redeploy = Deployment.objects.get(site=shop, trigger="restart")
    assert redeploy.source == "Redeploy v1"
    assert AuditEvent.objects.get(action="site.redeploy").target == "v1"


def test_it_refuses_support_a_stop_or_start_on_the_page_and_in_the_list(shop):
    client = client_of(support_engineer())

    assert client.post(site_url(shop, "act/stop/")).status_code == 403
    assert client.post(site_url(shop, "act/start/")).status_code == 403
    client.post("/admin/sites/site/", {"action": "stop", "_selected_action": [shop.pk]})

    assert Site.objects.get(pk=shop.pk).desired_state == "running"
    assert not AuditEvent.objects.filter(action__in=["site.stop", "site.start"]).exists()
    assert not Deployment.objects.filter(site=shop, trigger="start").exists()
    assert b'value="stop"' not in client.get(site_url(shop)).content


def test_it_refuses_the_sites_own_owner_every_staff_url(shop):
    from tests.unit.portal_client import signed_in

    owner = signed_in("owner")
    domain = Domain.objects.get(hostname="www.example.com")

    for url in (site_url(shop), site_url(shop, "act/restart/"), site_url(shop, f"domains/{domain.pk}/verify-by-hand/")):
        assert owner.post(url, {"reason": "mine"}).status_code in (302, 403)
    assert SECRET not in owner.get(site_url(shop), follow=True).content.decode()
    assert not Deployment.objects.filter(site=shop, trigger="restart").exists()
    assert Domain.objects.get(pk=domain.pk).verified_at is None


def test_it_links_to_the_sites_and_releases_deployments_lists(shop):
    client = client_of(support_engineer())
    for url in (f"/admin/sites/deployment/?site__id__exact={shop.pk}",
                f"/admin/sites/deployment/?release__id__exact={shop.current_release_id}"):
        page = client.get(url)
        assert page.status_code == 200 and f"/admin/sites/deployment/{Deployment.objects.get(site=shop).pk}/change/" \
            in page.content.decode()


def test_it_lets_a_superuser_stop_a_site_from_the_list(shop):
    client_of(superuser()).post("/admin/sites/site/", {"action": "stop", "_selected_action": [shop.pk]})

    assert Site.objects.get(pk=shop.pk).desired_state == "stopped"


def test_it_takes_only_post_for_an_action(shop):
    assert client_of(superuser()).get(site_url(shop, "act/restart/")).status_code == 405
    assert not Deployment.objects.filter(site=shop, trigger="restart").exists()


def test_it_says_why_a_restart_of_a_site_with_nothing_deployed_is_refused(shop):
    Site.objects.filter(pk=shop.pk).update(current_release=None)

    page = client_of(superuser()).post(site_url(shop, "act/restart/"), follow=True).content.decode()

    assert "Restart of shop refused: Nothing is deployed yet." in page


def test_it_says_a_suspended_organizations_site_is_not_restarted(shop):
    from accounts.services import mark_suspended

    mark_suspended(shop.organization, True, "unpaid")

    response = client_of(support_engineer()).post(site_url(shop, "act/restart/"), follow=True)

    assert response.status_code == 200 and "Restart of shop refused:" in response.content.decode()
    assert not Deployment.objects.filter(site=shop, trigger="restart").exists()


def test_it_verifies_a_domain_by_hand_only_with_a_reason_audits_and_routes_it(shop):
    proxy.set_routes(shop.route_group, shop.routed_hostnames(), ["10.0.0.5:8000"], "live")
    domain = Domain.objects.get(hostname="www.example.com")
    helper = support_engineer()
    url = site_url(shop, f"domains/{domain.pk}/verify-by-hand/")

    refused = client_of(helper).post(url, {"reason": "  "})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    too_long = client_of(helper).post(url, {"reason": "x" * 501})
    assert too_long.status_code == 400 and "500 characters or fewer" in too_long.content.decode()
    assert "x" * 501 in too_long.content.decode()  # the form keeps what was typed
    assert Domain.objects.get(pk=domain.pk).verified_at is None

    client_of(helper).post(url, {"reason": "ticket 42: registrar's DNS hides TXT records"})

    assert Domain.objects.get(pk=domain.pk).verified_at is not None
    route = proxy.route_of(shop.route_group)
    assert set(proxy.Route.objects.filter(group=shop.route_group).values_list("hostname", flat=True)) == {
        "shop.apps.localhost", "www.example.com"}
    assert route.upstreams == ["10.0.0.5:8000"]
    event = AuditEvent.objects.get(action="staff.domain.verify_by_hand")
    assert event.actor == helper and event.detail == {"reason": "ticket 42: registrar's DNS hides TXT records"}


def test_it_says_a_domain_already_verified_or_gone_is_not_verified_by_hand_again(shop):
    domain = Domain.objects.get(hostname="www.example.com")
    url = site_url(shop, f"domains/{domain.pk}/verify-by-hand/")
    client = client_of(support_engineer())
    client.post(url, {"reason": "ticket 42"})

    again = client.post(url, {"reason": "ticket 43"})

    assert again.status_code == 400 and "is verified already" in again.content.decode()
    assert AuditEvent.objects.filter(action="staff.domain.verify_by_hand").count() == 1


def test_it_lists_domains_waiting_for_verification_with_a_way_to_verify_them_by_hand(shop):
    domain = Domain.objects.get(hostname="www.example.com")
    Domain.objects.filter(pk=domain.pk).update(verification_token="tok3n0fthecustomer")

    page = client_of(support_engineer()).get("/admin/sites/domain/?verified_at__isempty=1").content.decode()

    assert f'href="/admin/sites/site/{shop.pk}/domains/{domain.pk}/verify-by-hand/"' in page
    assert ">shop.apps.localhost<" not in page and "tok3n0fthecustomer" not in page


def test_it_refuses_verify_by_hand_to_staff_without_the_permission(shop):
    plain = with_two_factor(get_user_model().objects.create_user("plain", "plain@hosting.test", "pw", is_staff=True))
    domain = Domain.objects.get(hostname="www.example.com")

    response = client_of(plain).post(site_url(shop, f"domains/{domain.pk}/verify-by-hand/"), {"reason": "trust me"})

    assert response.status_code == 403
    assert Domain.objects.get(pk=domain.pk).verified_at is None


def _more_sites(world, count: int) -> None:
    """`count` more deployed sites of acme, each with a release, a deployment and an instance."""
    from sites.models import Release, Slug

    host, org, plan = Host.objects.get(name="h1"), world["org"], world["site"].plan
    for n in range(count):
        site = Site.objects.create(name=f"extra-{Site.objects.count()}-{n}", organization=org, plan=plan)
        slug = Slug.objects.create(site=site, sha256="b" * 64, size_bytes=2, runtime="static", source="x")
        release = Release.objects.create(site=site, version=1, slug=slug, encrypted_config=encrypt("{}"),
                                         description="d")
        instance = Instance.objects.create(host=host, name=f"site-{site.name}-v1", site_label=site.name,
                                           release_label="v1", state="running")
        Deployment.objects.create(site=site, trigger="push", release=release, state="failed", internal_error="tb")
        Site.objects.filter(pk=site.pk).update(current_release=release, current_instance=instance)


@pytest.mark.parametrize("url", ["/admin/sites/site/", "/admin/sites/deployment/", "/admin/sites/release/",
                                 "/admin/sites/domain/"])
def test_it_lists_sites_deployments_and_releases_in_as_many_queries_for_3_or_23_rows(world, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_of(superuser())
    counts = []
    for more in (2, 20):
        _more_sites(world, more)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_it_finds_a_site_by_a_custom_domain(shop):
    page = client_of(superuser()).get("/admin/sites/site/?q=www.example.com").content.decode()

    assert f'href="/admin/sites/site/{shop.pk}/change/?' in page and ">gshop<" not in page


def test_it_lists_deployments_without_reading_their_logs_or_tracebacks(shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client_of(superuser()).get("/admin/sites/deployment/").content.decode()

    assert "field-internal_error_flag" in page
    assert not [q["sql"] for q in queries if '"sites_deployment"."log"' in q["sql"]
                or '"sites_deployment"."internal_error",' in q["sql"]]
