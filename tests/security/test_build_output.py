"""Attack: a build that prints without end (lines, or one line with no newline) to fill the
platform's memory, Redis or the database that keeps deployment logs."""
from __future__ import annotations

import json

from sites.logstream import MAX_BYTES, TRUNCATED
from sites.models import Deployment
from tests.integration.support.deploying import create_site, push, workdir_with
from tests.security.attacks import platform_still_answers


def test_it_keeps_at_most_two_megabytes_of_what_a_build_prints(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "chatty")
    agent = platform.processes["agent"].pid
    # 40 MB of lines, then 40 MB on one line without a newline.
    noise = "yes 0123456789abcdef0123456789abcdef | head -c 40000000; head -c 40000000 /dev/zero | tr '\\0' x"
    package = {"name": "chatty", "version": "1.0.0", "private": True,
               "scripts": {"build": noise, "start": "node -e 0"}}
    result = push(deploy_env, workdir_with(tmp_path, None, {"package.json": json.dumps(package)}), site, check=False)

    deployment = Deployment.objects.filter(site__name=site).latest("id")
    assert deployment.finished
    assert TRUNCATED in deployment.log
    assert len(deployment.log) < MAX_BYTES + 64 * 1024
    assert "Deployment #" in deployment.log.splitlines()[-1]  # the platform's own lines still go in
    assert result.returncode != 0  # `node -e 0` never listens
    assert platform.processes["agent"].pid == agent  # the agent (root) did not run out of memory (nor restart)
    platform_still_answers(platform, owner)
