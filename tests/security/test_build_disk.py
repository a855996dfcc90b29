"""Attack: fill the host's disk (the one that holds the database) through a build, a source
archive or a repository, instead of a site's own /data.

Everything a build writes lands on the site's build disk, a quota volume of the plan's size; a
push or source archive is cut off while it streams; the repository counts every branch and tag.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings

from tests.integration.support.deploying import create_site, push, workdir_with
from tests.security.attacks import give_plan, platform_still_answers

BUILD_DISK_MB = 96


def _free_mb(path: Path) -> float:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize / 2**20


def test_it_stops_a_build_that_writes_three_times_its_build_disk(deploy_env, tmp_path, sentinels):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    give_plan(owner.organization, build_disk_mb=BUILD_DISK_MB)
    site = create_site(deploy_env, "filler")
    package = {"name": "filler", "version": "1.0.0", "private": True,
               "scripts": {"build": f"dd if=/dev/urandom of=big.bin bs=1M count={3 * BUILD_DISK_MB}",
                           "start": "node -e 0"}}
    work = workdir_with(tmp_path, None, {"package.json": json.dumps(package)})
    free_before = _free_mb(settings.DATA_DIR)

    result = push(deploy_env, work, site, check=False)

    assert result.returncode != 0
    assert f"The build filled your plan's build disk ({BUILD_DISK_MB} MB)" in result.stderr, result.stderr[-3000:]
    # The host lost at most the build disk's size (and other tests' noise), not three times it.
    assert free_before - _free_mb(settings.DATA_DIR) < 2 * BUILD_DISK_MB
    sentinels.assert_untouched()
    platform_still_answers(platform, owner)


def test_it_stops_a_sparse_file_that_takes_no_room_on_the_build_disk(deploy_env, tmp_path, sentinels):
    """A 20 GB sparse file uses no blocks, but a tar of /app carries all of it: packing the slug
    stops at twice the build disk."""
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    give_plan(owner.organization, build_disk_mb=BUILD_DISK_MB)
    site = create_site(deploy_env, "sparse")
    package = {"name": "sparse", "version": "1.0.0", "private": True,
               "scripts": {"build": "truncate -s 20G big.bin", "start": "node -e 0"}}
    free_before = _free_mb(settings.DATA_DIR)

    result = push(deploy_env, workdir_with(tmp_path, None, {"package.json": json.dumps(package)}), site, check=False)

    assert result.returncode != 0
    assert f"larger than {2 * BUILD_DISK_MB} MB as a slug" in result.stderr, result.stderr[-3000:]
    assert free_before - _free_mb(settings.DATA_DIR) < 2 * BUILD_DISK_MB
    sentinels.assert_untouched()
    platform_still_answers(platform, owner)


def test_it_refuses_a_repository_that_outgrows_the_plan(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    give_plan(owner.organization, build_disk_mb=BUILD_DISK_MB, max_push_mb=60)
    site = create_site(deploy_env, "hoarder")
    work = workdir_with(tmp_path, "static")
    push(deploy_env, work, site)
    # Each branch carries 40 MB that does not compress; the third one passes the 96 MB build disk.
    from tests.integration.support.deploying import git

    results = []
    for number in range(3):
        git("checkout", "-q", "-b", f"junk{number}", "main", cwd=work)
        (work / "junk.bin").write_bytes(os.urandom(40 * 2**20))
        git("add", "junk.bin", cwd=work)
        git("commit", "-q", "-m", "junk", cwd=work)
        results.append(git("push", "-q", _url(platform, owner, site), f"junk{number}", cwd=work, check=False))
    assert results[0].returncode == 0, results[0].stderr
    assert results[-1].returncode != 0
    assert "larger than your plan allows" in results[-1].stderr
    # Deleting branches is always allowed, and frees the room for the refused one.
    deleted = git("push", "-q", _url(platform, owner, site), "--delete", "junk0", "junk1", cwd=work, check=False)
    assert deleted.returncode == 0, deleted.stderr
    again = git("push", "-q", _url(platform, owner, site), "junk2", cwd=work, check=False)
    assert again.returncode == 0, again.stderr
    platform_still_answers(platform, owner)


def _url(platform, customer, site: str) -> str:
    from tests.integration.support.deploying import push_url

    return push_url(platform, customer, site)
