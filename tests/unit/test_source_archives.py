"""The control plane's source archives after their build: a host that shares no disk with the
control plane fetched its own copy, so the sweep removes the original once no build can need it,
and never one whose deployment still waits or builds, or was written a moment before its row;
a push's staged archive is not kept when its write fails, nor for ever when its writer died."""
from __future__ import annotations

import os
import time

import pytest

from accounts.services import create_organization
from sites import services
from sites.models import Deployment, Site
from sites.pipeline.archives import ORPHAN_GRACE_SECONDS, STAGING_PREFIX, stage, sweep_source_archives
from sites.tasks import sweep_archives

pytestmark = pytest.mark.django_db


@pytest.fixture
def archives(settings, tmp_path):
    settings.ARCHIVES_DIR = tmp_path / "archives"
    settings.ARCHIVES_DIR.mkdir()
    return settings.ARCHIVES_DIR


def archive_of(archives, state: str) -> os.PathLike:
    site = Site.objects.first() or services.create_site(create_organization("acme", "owner@example.com"), "shop")
    deployment = Deployment.objects.create(site=site, trigger="push", state=state, host_name="far-1")
    path = archives / f"{deployment.pk}.tar.gz"
    path.write_bytes(b"source")
    return path


def test_it_removes_archives_past_their_build_and_keeps_those_a_build_still_needs(archives):
    needed = [archive_of(archives, state) for state in ("queued", "building")]
    done = [archive_of(archives, state) for state in ("releasing", "succeeded", "failed")]
    removed = sweep_archives()
    assert removed == 3
    assert [path.exists() for path in needed] == [True, True]
    assert [path.exists() for path in done] == [False, False, False]


def test_it_keeps_an_archive_without_its_row_for_a_while_then_removes_it(archives):
    fresh = archives / "999999.tar.gz"  # renamed by deploy_source before its row commits
    fresh.write_bytes(b"source")
    staged = archives / f"{STAGING_PREFIX}0a1b2c.tar"  # being written by a push before its placement
    staged.write_bytes(b"source")
    unrelated = archives / "notes.txt"
    unrelated.write_bytes(b"not ours")
    assert sweep_source_archives() == []
    assert sorted(sweep_source_archives(now=time.time() + ORPHAN_GRACE_SECONDS + 1)) == [staged.name, "999999.tar.gz"]
    assert unrelated.exists() and not staged.exists()


def test_a_write_that_fails_leaves_no_staged_archive(archives):
    def write_archive(path_for) -> None:
        path_for(".tar").write_bytes(b"half")
        raise ValueError("The source of this commit unpacks to more than your plan allows.")

    with pytest.raises(ValueError):
        stage(write_archive)
    assert list(archives.iterdir()) == []
