"""`hosting admin` against a fake staff API: the calls it makes, its answers, its usage errors."""
from __future__ import annotations

import json

from tests.unit.cli_fake import run_cli
from tests.unit.test_cli_basics import api, login  # noqa: F401 (the fixture)

ACME = {"slug": "acme", "plan": "large", "suspended": True, "suspended_reason": "unpaid invoice 42"}


def test_admin_suspends_sets_plans_and_drains(api, capsys, monkeypatch):
    login(api, capsys, monkeypatch)
    api.on("POST", "/api/v1/admin/orgs/acme/suspend/", (200, ACME))
    api.on("POST", "/api/v1/admin/orgs/acme/plan/", (200, ACME))
    api.on("POST", "/api/v1/admin/hosts/h2/drain/", (200, {"host": "h2", "moving": {"shop": "h1"},
                                                           "left": {"blog": "no room"}, "under_way": []}))
    code, out, _ = run_cli(capsys, "admin", "suspend", "acme", "--reason", "unpaid invoice 42")
    assert (code, out) == (0, "acme: suspended (unpaid invoice 42), plan large.\n")
    assert json.loads(api.sent("POST", "/api/v1/admin/orgs/acme/suspend/")[0]["body"]) == {"reason": "unpaid invoice 42"}
    code, out, _ = run_cli(capsys, "admin", "plan", "acme", "large", "--json")
    assert json.loads(out) == ACME and json.loads(api.sent("POST", "/api/v1/admin/orgs/acme/plan/")[0]["body"]) == {
        "plan": "large"}
    code, out, _ = run_cli(capsys, "admin", "drain", "h2")
    assert out.splitlines() == ["Draining h2: 1 site(s) moving, 1 left.", "  shop -> h1", "  blog stays: no room"]


def test_admin_usage_and_refusals(api, capsys, monkeypatch):
    login(api, capsys, monkeypatch)
    code, _, err = run_cli(capsys, "admin", "suspend", "acme")
    assert code == 2 and "Give a reason" in err
    code, _, err = run_cli(capsys, "admin", "plan", "acme")
    assert code == 2 and "hosting admin plan ORG PLAN" in err
    api.on("POST", "/api/v1/admin/orgs/acme/unsuspend/", (403, {"detail": "This is for the hosting company's staff."}))
    code, _, err = run_cli(capsys, "admin", "unsuspend", "acme")
    assert code == 5 and "hosting company's staff" in err
