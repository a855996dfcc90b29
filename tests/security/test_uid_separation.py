"""Attack: a process of one site that escaped its container (simulated: a host process with that
site's uid) tries to read another site's files: its /data, its build disk, its slugs.

Each site runs as its own uid and gid, which own its files (0700), and the platform's folders that
hold them are root's alone (the slug cache: root's and the platform user's, which serves it to other
hosts).
"""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from django.conf import settings

from core.data_dir import platform_account
from sites.models import Site
from sites.workspace import volume_name
from tests.integration.support.deploying import create_site, push, served, workdir_with


def _as_uid(uid: int, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *command],
                          capture_output=True, text=True, timeout=30)


def test_it_gives_each_site_its_own_uid_owning_its_files(deploy_env, tmp_path, engine):
    platform, customers, created = deploy_env
    first = create_site(deploy_env, "first", writable_paths=["uploads"])
    push(deploy_env, workdir_with(tmp_path, "php"), first)
    assert "wrote" in served(platform, first, "/?write=secret.txt&content=first-site-secret").text
    second = create_site(deploy_env, "second")
    push(deploy_env, workdir_with(tmp_path, "static"), second)

    a, b = Site.objects.get(name=first), Site.objects.get(name=second)
    assert a.uid != b.uid and 10000 not in (a.uid, b.uid)
    for site in (a, b):
        for state in engine.list_site_containers(site.name):
            assert engine.inspect(state.name)["Config"]["User"] == f"{site.uid}:{site.uid}"

    volume = Path(settings.VOLUMES_DIR) / a.uuid.hex
    build_disk = Path(settings.VOLUMES_DIR) / volume_name(a.uuid.hex)
    secret = volume / "writable" / "uploads" / "secret.txt"
    assert secret.read_text().strip() == "first-site-secret"
    assert os.stat(secret).st_uid == a.uid  # written by the site's own process
    for folder, owner in ((volume, a.uid), (build_disk / "cache", a.uid), (build_disk / "builds", 0),
                          (build_disk / "sources", 0), (build_disk / "slugs", 0), (build_disk / "trash", 0),
                          (Path(settings.VOLUMES_DIR), 0),
                          # the web server serves slugs to other hosts and receives theirs (core/data_dir.py)
                          (Path(settings.SLUGS_DIR), platform_account(settings.PLATFORM_USER).uid)):
        info = os.stat(folder)
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (owner, 0o700), folder

    # The second site's uid, on the host, reaches none of the first site's files.
    slug = next(build_disk.joinpath("slugs").iterdir())
    assert os.stat(slug / "index.php").st_uid == a.uid  # unpacked as the site's uid
    tarball = next(Path(settings.SLUGS_DIR).glob("*.tar.gz"))
    for target in (secret, volume, build_disk / "cache", slug, slug / "index.php", tarball):
        attempt = _as_uid(b.uid, "cat" if target.suffix else "ls", str(target))
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, (target, attempt)
        assert "first-site-secret" not in attempt.stdout
