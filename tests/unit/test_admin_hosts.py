from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import localize

from accounts.models import AuditEvent
from hosting import tasks
from hosting.image_catalog import current_tags
from hosting.models import Host, HostPort, Instance, RuntimeImage
from staff.admin.hosting import SHOWN_ON_HOST
from tests.staff_users import client_of, superuser, support_engineer

pytestmark = pytest.mark.django_db


def test_staff_see_each_hosts_capacity_heartbeat_and_status(admin_client):
    Host.objects.create(name="alive-1", cpus=8, memory_mb=32000, docker_version="20.10.24", last_heartbeat=timezone.now())
    Host.objects.create(name="silent-1", cpus=2, memory_mb=4000, last_heartbeat=timezone.now() - timedelta(hours=2))

    page = admin_client.get("/admin/hosting/host/").content.decode()

    assert "alive-1" in page and "32000" in page and "20.10.24" in page
    row_of = lambda name: next(row for row in page.split("<tr")[1:] if f">{name}<" in row)  # noqa: E731
    assert ">up<" in row_of("alive-1")
    assert ">down<" in row_of("silent-1")


def _instance(host: Host, name: str, state: str = Instance.State.RUNNING, **fields) -> Instance:
    return Instance.objects.create(host=host, name=name, site_label=name.split("-")[0], release_label="v3",
                                   state=state, **{"memory_mb": 256, "cpu_millicores": 250, **fields})


@pytest.fixture
def host() -> Host:
    return Host.objects.create(name="alive-1", cpus=2, memory_mb=4000, service_address="10.0.0.5",
                               last_heartbeat=timezone.now())


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list, str]]:
    """The host tasks staff pages send: (task, args, queue)."""
    calls: list[tuple[str, list, str]] = []
    for task in (tasks.refresh_capacity, tasks.build_images):
        monkeypatch.setattr(task, "apply_async_on_commit",
                            lambda args, queue, name=task.name: calls.append((name, args, queue)))
    return calls


def _row(page: str, name: str) -> str:
    return next(row for row in page.split("<tr")[1:] if f">{name}<" in row)


def test_it_lists_each_hosts_reservations_free_capacity_and_containers(admin_client, host, settings):
    settings.CPU_OVERCOMMIT = 4
    _instance(host, "shop-web-1", memory_mb=1000, cpu_millicores=500)
    _instance(host, "blog-web-1", Instance.State.STARTING, memory_mb=500, cpu_millicores=250)
    _instance(host, "old-web-1", Instance.State.STOPPED, memory_mb=2000, cpu_millicores=2000)

    row = _row(admin_client.get("/admin/hosting/host/").content.decode(), "alive-1")

    cells = [cell.split(">", 1)[1].split("<")[0] for cell in row.split("<td")[1:]]
    assert ["up", "2", "4000", "1500", "2500", "750 of 8000", "7250", "3"] == [cells[1]] + cells[3:10], cells


def test_it_shows_the_containers_and_ports_on_a_host(admin_client, host):
    _instance(host, "shop-web-1", port=20001)
    HostPort.objects.create(host=host, port=20001, holder="shop-web-1")
    other = Host.objects.create(name="other-1", last_heartbeat=timezone.now())
    _instance(other, "elsewhere-web-1")

    page = admin_client.get(f"/admin/hosting/host/{host.pk}/change/").content.decode()

    row = page.split('data-instance="shop-web-1"')[1].split("</tr>")[0]
    assert ">shop<" in row and ">v3<" in row and ">20001<" in row and ">Running<" in row and ">256<" in row
    assert "elsewhere-web-1" not in page
    assert "<td>20001</td><td>shop-web-1</td>" in page


def test_it_lists_only_the_latest_containers_on_a_busy_host_and_links_to_all(admin_client, host):
    for n in range(SHOWN_ON_HOST + 5):
        _instance(host, f"site{n}-web-1", created_at=timezone.now() - timedelta(minutes=n))
        HostPort.objects.create(host=host, port=20000 + n, holder=f"site{n}-web-1")

    page = admin_client.get(f"/admin/hosting/host/{host.pk}/change/").content.decode()

    assert page.count("data-instance=") == SHOWN_ON_HOST and page.count("data-port=") == SHOWN_ON_HOST
    assert 'data-instance="site0-web-1"' in page and f'data-instance="site{SHOWN_ON_HOST}-web-1"' not in page
    listed = admin_client.get(f"/admin/hosting/instance/?host__id__exact={host.pk}")
    assert listed.status_code == 200 and f"site{SHOWN_ON_HOST + 4}-web-1" in listed.content.decode()


def test_it_refuses_support_staff_editing_or_deleting_a_host(host):
    client = client_of(support_engineer())

    page = client.get(f"/admin/hosting/host/{host.pk}/change/")
    changed = client.post(f"/admin/hosting/host/{host.pk}/change/", {"service_address": "10.9.9.9"})
    deleted = client.post(f"/admin/hosting/host/{host.pk}/delete/", {"post": "yes"})
    bulk = client.post("/admin/hosting/host/", {"action": "delete_selected", "_selected_action": [host.pk],
                                                "post": "yes"})

    assert page.status_code == 200 and "shop" not in page.content.decode()  # they may look
    assert changed.status_code == 403 and deleted.status_code == 403
    assert bulk.status_code in (200, 302)
    host.refresh_from_db()
    assert host.service_address == "10.0.0.5" and Host.objects.filter(pk=host.pk).exists()
    assert not AuditEvent.objects.exists()


def test_a_superusers_host_edit_is_a_platform_wide_audit_event(host):
    boss = superuser()
    response = client_of(boss).post(f"/admin/hosting/host/{host.pk}/change/", {"service_address": "10.0.0.6"})

    assert response.status_code == 302
    host.refresh_from_db()
    event = AuditEvent.objects.get(action="staff.host.change")
    assert host.service_address == "10.0.0.6"
    assert (event.organization, event.target, event.actor, event.detail["fields"]) == (None, "alive-1", boss,
                                                                                        ["service_address"])


def test_support_staff_may_ask_a_host_to_refresh_its_capacity_and_it_is_audited(host, sent):
    helper = support_engineer()
    response = client_of(helper).post("/admin/hosting/host/", {"action": "refresh_capacity",
                                                               "_selected_action": [host.pk]})

    assert response.status_code == 302
    assert sent == [("hosting.agent.refresh_capacity", ["alive-1"], "host.alive-1")]
    assert AuditEvent.objects.get(action="staff.host.refresh_capacity").actor == helper


def test_it_refuses_support_staff_asking_hosts_to_build_images(host, sent):
    client = client_of(support_engineer())

    action = client.post("/admin/hosting/host/", {"action": "build_images", "_selected_action": [host.pk]})
    button = client.post("/admin/hosting/runtimeimage/build/")
    catalog = client.get("/admin/hosting/runtimeimage/").content.decode()

    assert action.status_code == 302 and button.status_code == 403
    assert sent == [] and not AuditEvent.objects.exists()
    assert "Rebuild images" not in catalog


def test_a_superuser_asks_every_live_host_to_build_images_audited(host, sent):
    Host.objects.create(name="silent-1", last_heartbeat=timezone.now() - timedelta(hours=2))
    boss = superuser()

    response = client_of(boss).post("/admin/hosting/runtimeimage/build/", follow=True)

    assert sent == [("hosting.agent.build_images", ["alive-1"], "host.alive-1")]
    event = AuditEvent.objects.get(action="staff.images.build")
    assert (event.organization, event.actor, event.detail) == (None, boss, {"hosts": ["alive-1"],
                                                                            "skipped": ["silent-1"]})
    assert "Skipped silent-1" in response.content.decode()


def test_the_catalog_shows_each_runtimes_tag_and_each_hosts_build_time(admin_client, host):
    tags = current_tags()
    built = timezone.now() - timedelta(days=3)
    RuntimeImage.objects.create(host=host, runtime="python", tag=tags["python"], created_at=built)
    RuntimeImage.objects.create(host=host, runtime="php", tag="hosting/runtime-php:0ld", created_at=built)

    page = admin_client.get("/admin/hosting/runtimeimage/").content.decode()

    assert all(tag in page for tag in tags.values()) and "Rebuild images" in page
    images = [row for row in page.split("<tr")[1:] if "alive-1" in row]
    current, old = (next(row for row in images if tag in row) for tag in (tags["python"], "runtime-php:0ld"))
    assert 'alt="True"' in current and 'alt="False"' in old
    assert localize(timezone.template_localtime(built)) in current  # Docker's build time
