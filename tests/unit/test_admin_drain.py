"""Cordon, drain and their undoing from the Host admin: superusers only (support staff are
refused on the server), each audited with the staff member, and the host list says what the
fleet does with each host (cordoned, draining, drained, down)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from hosting.models import Host, Instance
from sites.models import Deployment
from tests.staff_users import client_of, superuser, support_engineer
from tests.unit.test_drain import drained_sender  # noqa: F401 (fixture)
from tests.unit.test_failover import edge_dir, live_host, recorder, running_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
HOSTS = "/admin/hosting/host/"


def act(client, action: str, host: Host):
    return client.post(HOSTS, {"action": action, "_selected_action": [host.pk]}, follow=True)


def status_of(client, name: str) -> str:
    page = client.get(HOSTS).content.decode()
    row = next(row for row in page.split("<tr")[1:] if f">{name}<" in row)
    return row.split('class="field-status_display">')[1].split("<")[0]


def test_a_superuser_cordons_drains_and_undrains_a_host_from_the_host_list(drained_sender):
    old = live_host("old")
    live_host("spare")
    shop = running_site("shop", old)
    boss = superuser()
    client = client_of(boss)

    assert "Cordoned old" in act(client, "cordon_hosts", old).content.decode()
    assert status_of(client, "old") == "cordoned: from the staff site by boss"
    act(client, "uncordon_hosts", old)
    assert status_of(client, "old") == "up"

    page = act(client, "drain_hosts", old).content.decode()
    assert "Draining old: 1 site(s) moving" in page
    assert status_of(client, "old").startswith("draining")
    [move] = Deployment.objects.filter(site=shop, trigger="restart")
    assert move.host_name == "spare" and move.created_by == boss

    Instance.objects.filter(host=old).update(state=Instance.State.STOPPED)  # the switch stopped the old instance
    assert status_of(client, "old").startswith("drained")
    act(client, "undrain_hosts", old)
    assert status_of(client, "old") == "up"
    actions = list(AuditEvent.objects.filter(target="old", actor=boss).values_list("action", flat=True).order_by("id"))
    assert actions == ["staff.host_cordon", "staff.host_uncordon", "staff.host_cordon", "staff.host_drain",
                       "staff.host_undrain"]


def test_the_list_says_down_for_a_silent_host_whatever_its_cordon(drained_sender):
    Host.objects.create(name="silent", last_heartbeat=timezone.now() - timedelta(hours=1), cordoned_at=timezone.now())
    assert status_of(client_of(superuser()), "silent") == "down"


def test_a_site_that_cannot_move_is_named_to_the_superuser(drained_sender):
    old = live_host("old")
    running_site("shop", old)
    page = act(client_of(superuser()), "drain_hosts", old).content.decode()
    assert "Site shop stays on old, serving: No host has room" in page


@pytest.mark.parametrize("action", ["cordon_hosts", "uncordon_hosts", "drain_hosts", "undrain_hosts"])
def test_it_refuses_support_staff_cordoning_or_draining_hosts(drained_sender, action):
    old = live_host("old")
    live_host("spare")
    shop = running_site("shop", old)
    Host.objects.filter(name="old").update(cordoned_at=timezone.now() if action.startswith("un") else None)
    client = client_of(support_engineer())

    response = act(client, action, old)

    assert response.status_code == 200 and "No action selected" in response.content.decode()
    assert action not in client.get(HOSTS).content.decode()  # not even offered
    after = Host.objects.get(name="old")
    assert (after.cordoned_at is not None) == action.startswith("un")  # unchanged
    assert not Deployment.objects.filter(site=shop, trigger="restart").exists()
    assert not AuditEvent.objects.filter(action__startswith="staff.host_").exists()


def test_hosts_drained_together_send_no_site_from_one_to_the_other(drained_sender):
    first, second = live_host("first"), live_host("second")
    Host.objects.filter(pk=second.pk).update(memory_mb=16384)  # the most room: the first's sites would go there
    live_host("spare")
    shop, blog = running_site("shop", first), running_site("blog", second)

    client_of(superuser()).post(HOSTS, {"action": "drain_hosts", "_selected_action": [first.pk, second.pk]})

    assert {move.site.name: move.host_name for move in Deployment.objects.filter(trigger="restart")} == {
        "shop": "spare", "blog": "spare"}
