"""/metrics: Prometheus' text format, read with the official client's parser; the values are the
database's rows; only the metrics token or staff with two-factor get them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import create_organization, get_or_create_user
from hosting.models import Host, Instance
from proxy.models import Certificate, EdgeState
from sites.models import Deployment, Site
from support.models import Ticket
from tests.staff_users import client_of, superuser, support_engineer

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client | None = None, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}, parsed by prometheus_client."""
    client = client or Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


# --- who may read them ------------------------------------------------------------------------------

def test_it_answers_the_metrics_token_in_prometheus_text_format():
    samples = scrape()
    assert value(samples, "hosting_redis_up") == 1
    assert value(samples, "hosting_edge_config_ok") == 0  # nothing applied yet


def test_it_takes_the_scheme_in_any_case():
    assert scrape(Client(HTTP_AUTHORIZATION=f"bearer {TOKEN}"))


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN])
def test_it_refuses_a_wrong_token_with_401_and_no_data(header):
    response = Client(HTTP_AUTHORIZATION=header).get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hosting_" not in response.content


def test_it_refuses_every_token_when_none_is_configured(settings):
    settings.METRICS_TOKEN = ""
    assert Client(HTTP_AUTHORIZATION="Bearer ").get("/metrics").status_code == 401


def test_it_refuses_an_anonymous_visitor_with_401():
    response = Client().get("/metrics")
    assert response.status_code == 401 and b"hosting_" not in response.content


def test_it_refuses_a_signed_in_customer_with_403():
    create_organization("acme", "owner@example.com")
    response = client_of(get_or_create_user("owner@example.com")).get("/metrics")
    assert response.status_code == 403 and b"hosting_" not in response.content


def test_it_refuses_staff_without_two_factor_with_403(django_user_model):
    staff = django_user_model.objects.create_user("plain-staff", "s@hosting.test", "pw", is_staff=True)
    assert client_of(staff).get("/metrics").status_code == 403


def test_it_refuses_a_staff_session_sending_a_wrong_token():
    """A wrong token is an error even with a session: the scraper is misconfigured, say so."""
    client = client_of(superuser())
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


@pytest.mark.parametrize("make_staff", [superuser, support_engineer])
def test_it_answers_staff_signed_in_with_two_factor(make_staff):
    assert value(scrape(client_of(make_staff())), "hosting_redis_up") == 1


def test_it_answers_only_get():
    assert Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").post("/metrics").status_code == 405


# --- the values are the rows ------------------------------------------------------------------------

def _host(name: str, heartbeat_ago: float | None, **fields) -> Host:
    beat = None if heartbeat_ago is None else timezone.now() - timedelta(seconds=heartbeat_ago)
    return Host.objects.create(name=name, last_heartbeat=beat, **fields)


def test_it_reports_each_hosts_state_heartbeat_and_capacity(settings):
    settings.HOST_DOWN_AFTER = 30
    h1 = _host("h1", 5, cpus=4, memory_mb=16000)
    _host("h2", 600, cpus=2, memory_mb=8000)
    _host("h3", None)
    for n, (state, memory, cpu) in enumerate([("running", 512, 500), ("starting", 256, 250), ("stopped", 1024, 1000)]):
        Instance.objects.create(host=h1, name=f"c{n}", site_label="s", release_label="v1", state=state,
                                memory_mb=memory, cpu_millicores=cpu)
    samples = scrape()
    assert [value(samples, "hosting_host_up", host=h) for h in ("h1", "h2", "h3")] == [1, 0, 0]
    assert 5 <= value(samples, "hosting_host_heartbeat_age_seconds", host="h1") < 60
    assert value(samples, "hosting_host_heartbeat_age_seconds", host="h3") is None
    assert value(samples, "hosting_host_memory_bytes", host="h1") == 16000 * 1024 * 1024
    assert value(samples, "hosting_host_memory_reserved_bytes", host="h1") == (512 + 256) * 1024 * 1024  # not the stopped one
    assert value(samples, "hosting_host_cpus", host="h2") == 2
    assert value(samples, "hosting_host_cpus_reserved", host="h1") == 0.75
    assert value(samples, "hosting_host_cpus_reserved", host="h2") == 0
    assert value(samples, "hosting_host_instances_running", host="h1") == 1


def test_it_counts_sites_by_desired_state_and_the_status_customers_see(world):
    org, shop = world["org"], world["site"]
    host = Host.objects.get(name="h1")
    running = Site.objects.create(name="up", organization=org, plan=org.plan)
    instance = Instance.objects.create(host=host, name="up-1", site_label="up", release_label="v1", state="running")
    Site.objects.filter(pk=running.pk).update(current_instance=instance)
    Site.objects.create(name="off", organization=org, plan=org.plan, desired_state="stopped")
    deploying = Site.objects.create(name="busy", organization=org, plan=org.plan)
    Deployment.objects.create(site=deploying, trigger="push", state="building")
    suspended = create_organization("gone", "gone@example.com")
    suspended.suspended = True
    suspended.save()
    Site.objects.create(name="gone-site", organization=suspended, plan=suspended.plan)

    samples = scrape()

    sites = {labels: v for (name, labels), v in samples.items() if name == "hosting_sites"}
    assert sites == {
        (("desired_state", "running"), ("status", "not deployed")): 2,  # shop (its deployment finished), gshop
        (("desired_state", "running"), ("status", "running")): 1,
        (("desired_state", "stopped"), ("status", "stopped")): 1,
        (("desired_state", "running"), ("status", "deploying")): 1,
        (("desired_state", "running"), ("status", "suspended")): 1,
    }
    # The same as the portal's own Site.status, site by site.
    statuses = sorted(site.status for site in Site.objects.select_related("organization"))
    assert statuses == sorted(dict(labels)["status"] for labels, n in sites.items() for _ in range(int(n)))
    assert shop.status == "not deployed"


def test_it_counts_deployments_by_state_and_their_durations_in_buckets(world):
    site, now = world["site"], timezone.now()
    Deployment.objects.all().delete()
    for seconds in (3, 20, 20, 100):
        Deployment.objects.create(site=site, trigger="push", state="succeeded",
                                  started_at=now - timedelta(seconds=seconds), finished_at=now)
    failed = Deployment.objects.create(site=site, trigger="push", state="failed", finished_at=now)
    Deployment.objects.filter(pk=failed.pk).update(created_at=now - timedelta(seconds=4000))  # never started
    Deployment.objects.create(site=site, trigger="push", state="building", started_at=now)

    samples = scrape()

    assert value(samples, "hosting_deployments", state="succeeded") == 4
    assert value(samples, "hosting_deployments", state="failed") == 1
    assert value(samples, "hosting_deployments", state="building") == 1
    assert value(samples, "hosting_deployments", state="queued") == 0
    bucket = lambda le, state="succeeded": value(samples, "hosting_deployment_duration_seconds_bucket", le=le, state=state)  # noqa: E731
    assert [bucket("5.0"), bucket("15.0"), bucket("30.0"), bucket("60.0"), bucket("120.0"), bucket("+Inf")] == [1, 1, 3, 3, 4, 4]
    assert value(samples, "hosting_deployment_duration_seconds_count", state="succeeded") == 4
    assert value(samples, "hosting_deployment_duration_seconds_sum", state="succeeded") == pytest.approx(143, abs=0.01)
    assert bucket("1800.0", "failed") == 0 and bucket("+Inf", "failed") == 1
    assert value(samples, "hosting_deployment_duration_seconds_sum", state="failed") == pytest.approx(4000, abs=1)
    assert value(samples, "hosting_deployment_duration_seconds_count", state="building") is None  # running: no duration


def test_it_reports_the_depth_of_each_celery_queue(fake_redis):
    _host("h1", 1)
    fake_redis.lpush("control", "a", "b")
    fake_redis.lpush("control\x06\x166", "c")  # a priority 6 message: kombu keeps it under a suffixed key
    fake_redis.lpush("host.h1", "d")
    samples = scrape()
    assert value(samples, "hosting_queue_messages", queue="control") == 3
    assert value(samples, "hosting_queue_messages", queue="proxy") == 0
    assert value(samples, "hosting_queue_messages", queue="host.h1") == 1


def test_it_says_redis_is_down_and_still_answers_the_rest(fake_redis):
    _host("h1", 1, cpus=2)
    fake_redis.down = True
    samples = scrape()
    assert value(samples, "hosting_redis_up") == 0
    assert not any(name == "hosting_queue_messages" for name, _ in samples)
    assert value(samples, "hosting_host_cpus", host="h1") == 2


def test_it_reports_the_edge_configs_last_apply():
    applied = timezone.now() - timedelta(minutes=5)
    EdgeState.objects.create(pk=1, applied_at=applied, apply_seconds=0.2)
    samples = scrape()
    assert value(samples, "hosting_edge_config_ok") == 1
    assert value(samples, "hosting_edge_config_applied_timestamp_seconds") == pytest.approx(applied.timestamp())
    assert value(samples, "hosting_edge_config_failed_timestamp_seconds") is None

    failed = timezone.now()
    EdgeState.objects.filter(pk=1).update(failed_at=failed, error="nginx: [emerg] unexpected end of file")
    samples = scrape()
    assert value(samples, "hosting_edge_config_ok") == 0
    assert value(samples, "hosting_edge_config_failed_timestamp_seconds") == pytest.approx(failed.timestamp())


def test_it_reports_certificates_by_state_and_those_due_for_renewal_by_hostname():
    now = timezone.now()
    Certificate.objects.create(hostname="www.example.com", group="g", state="issued", expires_at=now + timedelta(days=60))
    Certificate.objects.create(hostname="due.example.com", group="g", state="issued", expires_at=now + timedelta(days=10))
    Certificate.objects.create(hostname="old.example.com", group="g", state="issued", expires_at=now - timedelta(days=1))
    Certificate.objects.create(hostname="new.example.com", group="g", state="pending")
    samples = scrape()
    assert value(samples, "hosting_certificates", state="issued") == 3
    assert value(samples, "hosting_certificates", state="pending") == 1
    assert value(samples, "hosting_certificates", state="failed") == 0
    assert value(samples, "hosting_certificate_soonest_expiry_seconds") == pytest.approx(-86400, abs=60)
    assert value(samples, "hosting_certificate_expiry_seconds", hostname="due.example.com") == pytest.approx(10 * 86400, abs=60)
    assert value(samples, "hosting_certificate_expiry_seconds", hostname="old.example.com") == pytest.approx(-86400, abs=60)
    assert value(samples, "hosting_certificate_expiry_seconds", hostname="www.example.com") is None  # renewed long before
    assert value(samples, "hosting_certificate_expiry_seconds", hostname="new.example.com") is None


def test_it_counts_the_support_tickets_not_closed():
    org = create_organization("acme", "owner@example.com")
    for state in ("open", "open", "answered", "closed"):
        Ticket.objects.create(organization=org, subject="help", state=state)
    Ticket.objects.filter(state="answered").update(created_at=timezone.now() - timedelta(hours=2))
    samples = scrape()
    assert value(samples, "hosting_support_tickets_open", state="open") == 2
    assert value(samples, "hosting_support_tickets_open", state="answered") == 1
    assert value(samples, "hosting_support_ticket_oldest_age_seconds", state="answered") == pytest.approx(7200, abs=60)


def _scrape_queries() -> int:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/metrics").status_code == 200
    return len(captured.captured_queries)


def _grow(n: int) -> None:
    org = create_organization(f"org{n}", f"owner{n}@example.com")
    host = _host(f"host{n}", 1, cpus=4, memory_mb=4000)
    for i in range(n):
        site = Site.objects.create(name=f"s{n}-{i}", organization=org, plan=org.plan)
        Deployment.objects.create(site=site, trigger="push", state="succeeded", finished_at=timezone.now())
        Instance.objects.create(host=host, name=f"c{n}-{i}", site_label=site.name, release_label="v1", state="running")
        Certificate.objects.create(hostname=f"{site.name}.example.com", state="issued", expires_at=timezone.now())
        Ticket.objects.create(organization=org, subject="help")


def test_its_query_count_does_not_grow_with_the_rows():
    _grow(2)
    small = _scrape_queries()
    _grow(8)
    assert _scrape_queries() == small
