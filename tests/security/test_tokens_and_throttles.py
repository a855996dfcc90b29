"""Attacks on authentication through the running platform (gunicorn's workers sharing Redis):
guessing tokens on the API and on git gets 429 while another organization's good token keeps
working; a revoked or expired token opens nothing, on the API or on git."""
from __future__ import annotations

import base64
import http.client
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.integration.support.deploying import api, create_site, git, push_url

pytestmark = pytest.mark.django_db(transaction=True)

# Enough guesses that one minute's window holds more than the default 30 (AUTH_FAILURES_PER_ADDRESS),
# even when a window boundary falls in the middle of the run.
GUESSES = 70


def _get(platform, path: str, headers: dict[str, str], source: str) -> int:
    """GET from a loopback address of our own, so these counters are this test's alone."""
    host, port = platform.portal.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"git:{token}".encode()).decode()}


def test_guessing_tokens_gets_429_and_other_organizations_keep_working(deploy_env):
    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "guess")
    outsider = customers["outsider"]

    statuses = [_get(platform, "/api/v1/sites/", {"Authorization": f"Bearer hst_guess{n}"}, "127.0.0.2")
                for n in range(GUESSES)]
    assert statuses[0] == 401 and statuses.count(429) >= GUESSES - 60, statuses
    assert _get(platform, "/api/v1/sites/", outsider.headers(), "127.0.0.2") == 200  # same address, good token

    refs = f"/git/{site}.git/info/refs?service=git-upload-pack"
    statuses = [_get(platform, refs, _basic(f"hst_guess{n}"), "127.0.0.3") for n in range(GUESSES)]
    assert statuses[0] == 401 and statuses.count(429) >= GUESSES - 60, statuses
    assert _get(platform, refs, _basic(customers["owner"].token), "127.0.0.3") == 200


def test_a_revoked_or_expired_token_opens_nothing(deploy_env, tmp_path):
    from accounts.models import ApiToken
    from accounts.services import get_or_create_user, issue_token

    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "revoke")
    user = get_or_create_user(owner.email)
    leaked, expiring = issue_token(user, "leaked"), issue_token(user, "short", expires_days=1)
    for token in (leaked, expiring):
        assert _get(platform, "/api/v1/sites/", {"Authorization": f"Bearer {token}"}, "127.0.0.4") == 200

    assert api(platform, owner, "DELETE", f"tokens/{leaked[:12]}/").status_code == 204
    ApiToken.objects.filter(prefix=expiring[:12]).update(expires_at=timezone.now() - timedelta(minutes=1))

    for token in (leaked, expiring):
        assert _get(platform, "/api/v1/sites/", {"Authorization": f"Bearer {token}"}, "127.0.0.4") == 401
        host = platform.portal.removeprefix("http://")
        result = git("ls-remote", f"http://user:{token}@{host}/git/{site}.git", cwd=tmp_path, check=False)
        assert result.returncode != 0 and "Authentication failed" in result.stderr, result.stderr
    assert git("ls-remote", push_url(platform, owner, site), cwd=tmp_path).returncode == 0
    listed = {t["prefix"]: t for t in api(platform, owner, "GET", "tokens/").json()}
    assert listed[leaked[:12]]["revoked_at"] and listed[owner.token[:12]]["current"]
