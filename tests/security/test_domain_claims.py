"""Attack (issue 8, item 9): an organization claims a name next to another organization's
verified name. Where the victim's DNS sends every name under its domain to the platform (a
wildcard record), the token the edge serves proves nothing, so HTTP verification of a name under
a registrable domain another organization holds is refused: only the DNS TXT record counts."""
from __future__ import annotations

import uuid

import pytest

from tests.integration.support.deploying import api, create_site

pytestmark = pytest.mark.django_db(transaction=True)


def claim(platform, customer, site: str, hostname: str):
    added = api(platform, customer, "POST", f"sites/{site}/domains/", json={"hostname": hostname})
    assert added.status_code == 201, added.text
    return api(platform, customer, "POST", f"sites/{site}/domains/{hostname}/verify/")


def test_a_name_next_to_another_organizations_name_needs_the_dns_record(deploy_env):
    from proxy.models import Route
    from sites.models import Domain

    platform, customers, created = deploy_env
    base = f"victim-{uuid.uuid4().hex[:6]}.test"
    victim = create_site(deploy_env, "victim")
    attacker = f"attacker-{uuid.uuid4().hex[:6]}"
    assert api(platform, customers["outsider"], "POST", "sites/", json={"name": attacker}).status_code == 201
    created.append(attacker)
    # In the test platform every name reaches the edge, as under a victim's wildcard record.
    assert claim(platform, customers["owner"], victim, f"shop.{base}").status_code == 200

    attack = claim(platform, customers["outsider"], attacker, f"www.{base}")

    assert attack.status_code == 400, attack.text
    assert "DNS TXT record only" in attack.text
    assert Domain.objects.get(hostname=f"www.{base}").verified_at is None
    assert not Route.objects.filter(hostname=f"www.{base}").exists()  # not routed to the attacker's site
    assert platform.edge_get(f"www.{base}").status_code == 404
    # The same organization, and names nobody else holds, still verify over HTTP.
    assert claim(platform, customers["owner"], victim, f"www.shop.{base}").status_code == 200
    assert claim(platform, customers["outsider"], attacker, f"www.elsewhere-{uuid.uuid4().hex[:6]}.test").status_code == 200
