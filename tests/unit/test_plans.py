from __future__ import annotations

import pytest

from accounts.models import Plan
from hosting.limits import limits_for_plan

pytestmark = pytest.mark.django_db


def test_it_seeds_three_plans_with_one_default():
    assert list(Plan.objects.values_list("name", flat=True)) == ["starter", "standard", "pro"]
    assert list(Plan.objects.filter(is_default=True).values_list("name", flat=True)) == ["starter"]


def test_container_limits_come_from_the_plan():
    limits = limits_for_plan(Plan.objects.get(name="standard"))
    assert (limits.memory_mb, limits.cpu_millicores, limits.pids, limits.tmp_mb) == (512, 500, 256, 64)


def test_staff_edit_plans_in_the_admin(admin_client):
    page = admin_client.get("/admin/accounts/plan/")
    assert page.status_code == 200
    assert b"starter" in page.content and b"pro" in page.content
