"""What the attack tests share: small plans, and deploying crafted archives through the running
platform's API."""
from __future__ import annotations

import uuid

import requests

from tests.integration.support.deploying import api, finished_deployment


def give_plan(organization_slug: str, **limits) -> None:
    """Move an organization to a plan of its own with small limits (sites made afterwards get it)."""
    from accounts.models import Organization, Plan

    base = dict(label="Attack test", memory_mb=256, cpu_millicores=250, pids_limit=128, disk_mb=64, tmp_mb=16,
                max_sites=10, max_custom_domains=2, max_push_mb=20, build_timeout_seconds=120, build_disk_mb=96)
    plan = Plan.objects.create(name=f"attack-{uuid.uuid4().hex[:8]}", **{**base, **limits})
    Organization.objects.filter(slug=organization_slug).update(plan=plan)


def upload(platform, customer, site: str, filename: str, data: bytes) -> dict:
    """Deploy `data` as an archive upload; returns the finished deployment with its log."""
    response = requests.post(f"{platform.portal}/api/v1/sites/{site}/deployments/", headers=customer.headers(),
                             files={"archive": (filename, data)}, timeout=120)
    assert response.status_code == 202, response.text
    return finished_deployment(platform, customer, site, response.json()["id"], timeout=180)


def platform_still_answers(platform, customer) -> None:
    assert requests.get(f"{platform.portal}/healthz", timeout=10).status_code in (200, 503)
    assert api(platform, customer, "GET", "sites/").status_code == 200
