"""The runtime catalog: the one place that says what each runtime is.

The portal, the API, the builds and the image builder all read this table. Each runtime is one
image built FROM the OS image with Debian packages only (see hosting.images).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Runtime:
    name: str
    label: str
    version: str  # the language or server version Debian 13 ships, as customers know it
    packages: tuple[str, ...]
    web_command: tuple[str, ...]  # when a Procfile declares no `web:` process
    build_command: tuple[str, ...] | None  # run in a build container; None: nothing to build
    detect_files: tuple[str, ...] = ()  # any of these at the repository root selects the runtime
    version_command: tuple[str, ...] = ()  # prints the version inside the image
    setup: tuple[str, ...] = field(default=())  # shell steps run once in the image after the packages
    env: tuple[tuple[str, str], ...] = ()  # image environment, e.g. the app's own bin directories on PATH


STATIC = Runtime(
    name="static",
    label="Static site (nginx)",
    version="nginx 1.26",
    packages=("nginx-light",),
    web_command=("hosting-web-static",),
    build_command=None,
    version_command=("nginx", "-v"),
)

PHP = Runtime(
    name="php",
    label="PHP 8.4 (Apache, mod_php, Composer)",
    version="PHP 8.4",
    packages=(
        "apache2", "libapache2-mod-php", "composer", "php-cli", "php-curl", "php-gd", "php-intl",
        "php-mbstring", "php-mysql", "php-pgsql", "php-sqlite3", "php-xml", "php-zip", "unzip",
    ),
    web_command=("hosting-web-php",),
    build_command=("hosting-build-php",),
    detect_files=("composer.json", "index.php"),
    version_command=("php", "-r", "echo PHP_VERSION;"),
    # One stable path for the PHP module whatever its version, for our apache2.conf.
    setup=("ln -s /usr/lib/apache2/modules/libphp*.so /usr/lib/apache2/modules/hosting-php.so",),
)

PYTHON = Runtime(
    name="python",
    label="Python 3.13",
    version="Python 3.13",
    packages=("python3", "python3-venv", "python3-pip"),
    web_command=("hosting-web-python",),
    build_command=("hosting-build-python",),
    detect_files=("requirements.txt", "pyproject.toml", "Pipfile"),
    version_command=("python3", "--version"),
    env=(("PATH", "/app/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
         ("PYTHONUNBUFFERED", "1")),
)

NODE = Runtime(
    name="node",
    label="Node.js 20",
    version="Node.js 20",
    packages=("nodejs", "npm"),
    web_command=("hosting-web-node",),
    build_command=("hosting-build-node",),
    detect_files=("package.json",),
    version_command=("node", "--version"),
    env=(("PATH", "/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),),
)

# Auto-detection tries these in order; static matches everything else.
CATALOG: dict[str, Runtime] = {runtime.name: runtime for runtime in (PHP, PYTHON, NODE, STATIC)}
