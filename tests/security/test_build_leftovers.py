"""Attack: leave the build disk in a state the platform cannot clean (folders 1,100 deep that a
recursive delete cannot remove, read-only folders), or build twice at once so one build wipes the
other's files. Each build has a folder of its own; what it leaves is deleted by a container as
the site's uid."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from django.conf import settings

from sites.models import Site
from sites.workspace import volume_name
from tests.integration.support.deploying import api, commit_all, create_site, push, served, workdir_with
from tests.archives import tar_gz
from tests.integration.support.processes import wait_for
from tests.security.attacks import platform_still_answers, upload

SERVER = "require('http').createServer((q, s) => s.end('built ' + require('fs').readFileSync('v.txt'))).listen(process.env.PORT)"


def _build_disk(site: str) -> Path:
    return Path(settings.VOLUMES_DIR) / volume_name(Site.objects.get(name=site).uuid.hex)


def test_it_cleans_up_deep_and_read_only_trees_a_build_leaves(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "leftovers")
    build = ("mkdir -p deep/$(printf 'a/%.0s' $(seq 1100)) ro/inner && touch ro/inner/f && "
             "chmod 0555 ro/inner ro && echo $RANDOM > v.txt")
    package = {"name": "leftovers", "version": "1.0.0", "private": True,
               "scripts": {"build": build, "start": f'node -e "{SERVER}"'}}
    work = workdir_with(tmp_path, None, {"package.json": json.dumps(package)})
    for attempt in range(2):
        (work / "attempt.txt").write_text(str(attempt))
        commit_all(work, f"attempt {attempt}")
        push(deploy_env, work, site)  # fails the test if a deploy fails
    assert served(platform, site).text.startswith("built ")

    disk = _build_disk(site)
    # Builds' folders went to the trash, and the trash is emptied by a container in the background.
    wait_for(lambda: not any((disk / "builds").iterdir()) and not any((disk / "trash").iterdir()), 60,
             "the build disk's builds/ and trash/ to be empty")
    platform_still_answers(platform, owner)


def _archive(content: str) -> bytes:
    return tar_gz({"index.html": content.encode(), "pad.bin": os.urandom(4 * 2**20)})


def test_it_builds_two_uploads_of_one_site_at_once_apart(deploy_env):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "twice")
    details = {}

    def deploy(label: str) -> None:
        details[label] = upload(platform, owner, site, f"{label}.tar.gz", _archive(f"content {label}\n"))

    threads = [threading.Thread(target=deploy, args=(label,)) for label in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logs = "\n\n".join(d["log"] for d in details.values())
    # Each build made its own release from its own files; the one that released later may find the
    # other already live and rightly not switch back to older content.
    for detail in details.values():
        assert detail["build_finished_at"] and "-----> Released v" in detail["log"], logs
        assert detail["state"] == "succeeded" or "a newer deployment went live first" in detail["error"], logs
    current = api(platform, owner, "GET", f"sites/{site}/").json()["current_release"]
    [serving] = [label for label, d in details.items() if d["release"] == current]
    assert served(platform, site).text == f"content {serving}\n"
