from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from accounts.models import Plan
from hosting.limits import limits_for_plan

pytestmark = pytest.mark.django_db


def test_it_seeds_three_plans_with_one_default():
    assert list(Plan.objects.values_list("name", flat=True)) == ["starter", "standard", "pro"]
    assert list(Plan.objects.filter(is_default=True).values_list("name", flat=True)) == ["starter"]


def test_container_limits_come_from_the_plan():
    limits = limits_for_plan(Plan.objects.get(name="standard"))
    assert (limits.memory_mb, limits.cpu_millicores, limits.pids, limits.tmp_mb) == (512, 500, 256, 64)


def _plan_form(plan: Plan, **changes) -> dict:
    form = {key: value for key, value in model_to_dict(plan).items() if key != "id"}
    form = {key: ("on" if value is True else "" if value is False else value) for key, value in form.items()}
    return {key: value for key, value in {**form, **changes}.items() if value != ""}


def test_staff_edit_plans_in_the_admin_and_the_limits_follow(admin_client):
    plan = Plan.objects.get(name="standard")
    assert admin_client.get("/admin/accounts/plan/").status_code == 200

    saved = admin_client.post(f"/admin/accounts/plan/{plan.pk}/change/", _plan_form(plan, memory_mb=768, max_sites=9))

    assert saved.status_code == 302, saved.content.decode()[:2000]
    plan.refresh_from_db()
    assert (plan.memory_mb, plan.max_sites) == (768, 9)
    assert limits_for_plan(plan).memory_mb == 768  # what the next container of its sites gets


def test_a_plan_below_the_floor_is_refused_and_nothing_changes(admin_client):
    plan = Plan.objects.get(name="standard")

    refused = admin_client.post(f"/admin/accounts/plan/{plan.pk}/change/", _plan_form(plan, memory_mb=8))

    assert refused.status_code == 200 and b"greater than or equal to 32" in refused.content
    plan.refresh_from_db()
    assert plan.memory_mb == 512
