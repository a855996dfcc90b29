"""Attack (issue 8, item 9): an anonymous caller reads /healthz for a map of the platform's
internals (host names, Docker versions, capacity, database and Redis errors). Only staff see the
parts; anyone else gets the status alone."""
from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


def test_anyone_but_staff_sees_the_status_alone(deploy_env):
    platform, customers, _ = deploy_env

    anonymous = requests.get(f"{platform.portal}/healthz", timeout=10)
    with_token = requests.get(f"{platform.portal}/healthz", headers=customers["owner"].headers(), timeout=10)

    for response in (anonymous, with_token):
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok"}
        assert "platform-test" not in response.text and "docker" not in response.text.lower()
