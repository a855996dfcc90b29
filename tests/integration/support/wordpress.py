"""A WordPress tree for the integration tests, from Debian's packages (no GitHub, no wordpress.org
downloads here): `apt-get download` inside a container of the platform's own OS image, which
reaches Debian's mirror as builds do, and `dpkg-deb -x`. Debian splits WordPress over packages
and points into the others with links (getID3, underscore.js, ...): the tree made here has those
files themselves, and the site's own wp-config.php (tests/apps/wordpress) instead of Debian's,
which reads /etc/wordpress."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from hosting.engine import ContainerEngine
from hosting.images import os_image_recipe
from tests.integration.support.deploying import APPS

# WordPress, the default theme, and the packages its links point into.
PACKAGES = ("wordpress", "wordpress-theme-twentytwentyfive", "php-getid3", "libjs-underscore", "libjs-lodash",
            "libjs-cropper")
SHARE = Path("usr/share/wordpress")
# Debian keeps what WordPress writes in /var/lib/wordpress/wp-content; the site keeps it in the app.
VAR_CONTENT = Path("var/lib/wordpress/wp-content")


def download_packages(engine: ContainerEngine, into: Path) -> Path:
    """The packages unpacked under `into`/root, as they would be installed (returns that root)."""
    into.mkdir(parents=True, exist_ok=True)
    script = ("set -e; cd /out; apt-get update -q >/dev/null; apt-get download -q " + " ".join(PACKAGES)
              + " 2>&1 | grep -v '^W: Download is performed unsandboxed'; "
              "for deb in *.deb; do dpkg-deb -x \"$deb\" root; done; rm -f *.deb")
    engine.client.containers.run(os_image_recipe().tag, ["sh", "-c", script], user="0:0", remove=True,
                                 volumes={str(into): {"bind": "/out", "mode": "rw"}})
    return into / "root"


def site_tree(root: Path, work: Path) -> None:
    """WordPress from the unpacked packages in `root`, as a repository tree in `work` (which must not exist)."""
    shutil.copytree(root / SHARE, work, symlinks=True)
    shutil.copytree(root / VAR_CONTENT, work / "wp-content", symlinks=True, dirs_exist_ok=True, ignore=_links_into_share)
    for link in [path for path in work.rglob("*") if path.is_symlink()]:
        _replace_with_target(link, root / SHARE / link.relative_to(work), root)
    (work / "wp-config.php").unlink()
    shutil.copytree(APPS / "wordpress", work, dirs_exist_ok=True)


def _links_into_share(folder: str, names: list[str]) -> list[str]:
    """Debian links themes from /var/lib/wordpress back to /usr/share/wordpress: the tree has them already."""
    return [name for name in names
            if os.path.islink(os.path.join(folder, name)) and os.readlink(os.path.join(folder, name)).startswith(f"/{SHARE}/")]


def _replace_with_target(link: Path, packaged: Path, root: Path) -> None:
    """A link into another package becomes a copy of the file it names in `root`. A link to a file
    of the OS image itself (the CA bundle) stays: the runtime image has it."""
    target = os.readlink(link)
    resolved = root / target.lstrip("/") if target.startswith("/") else Path(os.path.normpath(packaged.parent / target))
    if resolved.is_relative_to(root) and resolved.exists():
        link.unlink()
        if resolved.is_dir():
            shutil.copytree(resolved, link)
        else:
            shutil.copy2(resolved, link)
