"""The runtimes' build scripts, run for real: each sample app of tests/apps is built in a build
container of its runtime (/app writable, a persistent /cache), then served read-only under the
container contract by its Procfile's web process or the runtime's default web command."""
from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests

from hosting.spec import ContainerSpec, Mount, OneOffResult, ResourceLimits
from hosting.readiness import HealthCheck, wait_until_healthy
from hosting.images import APP_UID
from hosting.runtimes import CATALOG
from tests.integration.support.sitelab import RunningSite, SiteLab, write_slug

pytestmark = pytest.mark.django_db

APPS_DIR = Path(__file__).resolve().parents[1] / "apps"
BUILD_LIMITS = ResourceLimits(memory_mb=512, cpu_millicores=1000, pids=256, tmp_mb=64)
BUILD_TIMEOUT = 300


def chown_app_user(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, APP_UID, APP_UID, follow_symlinks=False)


def last_line(result: OneOffResult) -> str:
    return result.output.strip().splitlines()[-1]


@dataclass
class Build:
    result: OneOffResult
    slug: Path
    seconds: float

    @property
    def output(self) -> str:
        return self.result.output


class BuildLab:
    """Builds apps with their runtime's build command, and serves what the builds made."""

    def __init__(self, sites: SiteLab, tmp_path: Path) -> None:
        self.sites = sites
        self.tmp_path = tmp_path

    def directory(self, prefix: str) -> Path:
        path = self.tmp_path / f"{prefix}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        chown_app_user(path)
        return path

    def source(self, app: str | None = None, files: dict[str, str] | None = None) -> Path:
        """A fresh copy of a sample app of tests/apps (or of `files`), owned by the app user."""
        target = self.tmp_path / f"source-{uuid.uuid4().hex[:8]}"
        if app is not None:
            shutil.copytree(APPS_DIR / app, target, symlinks=True)
        else:
            write_slug(target, files or {})
        chown_app_user(target)
        return target

    def build(self, runtime: str, source: Path, cache: Path | None = None) -> Build:
        command = CATALOG[runtime].build_command
        assert command is not None, f"{runtime} has nothing to build"
        spec = self.sites.make_spec(runtime, {}, command=command, limits=BUILD_LIMITS, disk_mb=None, publish=False)
        spec = replace(
            spec, instance="build", slug_dir=source, app_writable=True,
            extra_mounts=(Mount(source=cache or self.directory("cache"), target="/cache", read_only=False),),
        )
        started = time.monotonic()
        result = self.sites.engine.run_once(spec, timeout=BUILD_TIMEOUT)
        return Build(result, source, time.monotonic() - started)

    def web_spec(self, runtime: str, slug: Path, publish: bool = True, **changes) -> ContainerSpec:
        """The built app's web container: the Procfile's `web:` command, else the runtime's default."""
        command = CATALOG[runtime].web_command
        procfile = slug / "Procfile"
        if procfile.exists():
            for line in procfile.read_text().splitlines():
                if line.startswith("web:"):
                    command = ("bash", "-c", line.removeprefix("web:").strip())
        spec = self.sites.make_spec(runtime, {}, command=command, publish=publish)
        return replace(spec, slug_dir=slug, **changes)

    def serve(self, runtime: str, slug: Path, **changes) -> RunningSite:
        spec = self.web_spec(runtime, slug, **changes)
        assert not spec.app_writable
        self.sites.engine.start(spec)
        wait_until_healthy(self.sites.engine, spec.name, spec.service_address, spec.host_port, spec.container_port,
                           HealthCheck(), timeout=60)
        return RunningSite(spec, self.sites.engine)


@pytest.fixture
def builds(sites, tmp_path) -> BuildLab:
    return BuildLab(sites, tmp_path)


def built(builds: BuildLab, runtime: str, source: Path, cache: Path | None = None) -> Build:
    build = builds.build(runtime, source, cache)
    assert build.result.exit_code == 0, build.output
    return build


# --- the sample apps -----------------------------------------------------------------------------

def test_it_builds_and_serves_the_python_sample(builds):
    build = built(builds, "python", builds.source("python"))

    assert "-----> Installing dependencies with pip" in build.output
    assert (build.slug / ".venv/bin/gunicorn").exists()
    assert (build.slug / ".hosting/wsgi-module").read_text().strip() == "app:application"
    site = builds.serve("python", build.slug, env={"GREETING": "hi from the env"})
    response = requests.get(site.url + "/", timeout=10)
    assert response.status_code == 200
    assert "hello from python" in response.text and "hi from the env" in response.text


def test_it_builds_and_serves_the_node_sample(builds):
    build = built(builds, "node", builds.source("node"))

    assert "-----> Installing dependencies with npm ci" in build.output
    for noise in ("npm notice", "funding", "vulnerabilities"):  # update notifier, fund, audit
        assert noise not in build.output
    site = builds.serve("node", build.slug)
    response = requests.get(site.url + "/", timeout=10)
    assert response.status_code == 200
    assert "hello from node" in response.text and "172800000" in response.text  # ms("2 days")


def test_it_builds_and_serves_the_php_sample(builds):
    build = built(builds, "php", builds.source("php"))

    assert "-----> Installing dependencies with composer" in build.output
    assert (build.slug / "vendor/autoload.php").exists()
    uploads = builds.directory("uploads")  # the app's writable path, as a site's /data would provide it
    writable = Mount(source=uploads, target="/app/uploads", read_only=False)
    site = builds.serve("php", build.slug, extra_mounts=(writable,))

    page = requests.get(site.url + "/some/path", timeout=10)
    assert page.status_code == 200
    assert "hello from php" in page.text and "/some/path" in page.text
    written = requests.get(site.url + "/", params={"write": "note.txt", "content": "kept"}, timeout=10)
    assert written.status_code == 200, written.text
    assert (uploads / "note.txt").read_text() == "kept"
    assert requests.get(site.url + "/", params={"read": "note.txt"}, timeout=10).text.strip() == "kept"
    for bad_name in ("../index.php", "x.php", ".htaccess", "a/b", ""):
        assert requests.get(site.url + "/", params={"write": bad_name}, timeout=10).status_code == 400, bad_name
    assert sorted(p.name for p in uploads.iterdir()) == ["note.txt"]


def test_it_serves_the_static_sample_which_has_nothing_to_build(builds):
    assert CATALOG["static"].build_command is None
    site = builds.serve("static", builds.source("static"))

    response = requests.get(site.url + "/", timeout=10)
    assert response.status_code == 200
    assert "hello from static" in response.text


# --- Python: the cached virtualenv, errors, detection ----------------------------------------------

def test_a_second_python_build_reuses_the_cached_virtualenv(builds):
    cache = builds.directory("cache")
    cold = built(builds, "python", builds.source("python"), cache)
    warm = built(builds, "python", builds.source("python"), cache)

    assert "Reused the cached virtualenv" in warm.output
    assert "Installing dependencies with pip" not in warm.output and "Collecting" not in warm.output
    assert (warm.slug / ".venv/bin/gunicorn").exists()
    print(f"python sample: cold build {cold.seconds:.1f} s, warm build {warm.seconds:.1f} s")
    site = builds.serve("python", warm.slug)
    assert "hello from python" in requests.get(site.url + "/", timeout=10).text


def test_changed_requirements_are_installed_and_only_the_latest_virtualenv_is_kept(builds):
    cache = builds.directory("cache")
    built(builds, "python", builds.source("python"), cache)
    changed = builds.source("python")
    (changed / "requirements.txt").write_text("gunicorn>=23,<24\n# changed\n")

    build = built(builds, "python", changed, cache)

    assert "Installing dependencies with pip" in build.output and "Reused" not in build.output
    assert len(list((cache / "venv").iterdir())) == 1


def test_a_requirement_that_does_not_exist_fails_with_a_clear_last_line(builds):
    source = builds.source(files={"requirements.txt": "hosting-no-such-package-4f2a9c==1.0\n", "app.py": "app = 1\n"})

    build = builds.build("python", source)

    assert build.result.exit_code != 0
    line = last_line(build.result)
    assert line.startswith("!") and "pip could not install requirements.txt" in line, build.output
    assert "hosting-no-such-package-4f2a9c" in line


def test_an_app_without_a_wsgi_module_builds_and_its_web_command_explains(builds):
    source = builds.source(files={"requirements.txt": "gunicorn>=23,<24\n", "worker.py": "print('no web here')\n"})

    build = built(builds, "python", source)

    assert "no WSGI application found" in build.output
    assert not (build.slug / ".hosting/wsgi-module").exists()
    web = builds.web_spec("python", build.slug, publish=False)
    result = builds.sites.engine.run_once(web, timeout=60)
    assert result.exit_code != 0
    assert "no WSGI module was detected" in result.output


DJANGO_PROJECT = {
    "requirements.txt": "Django>=5.2,<5.3\ngunicorn>=23,<24\n",
    "manage.py": (
        "import os, sys\n"
        "if __name__ == '__main__':\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
        "    from django.core.management import execute_from_command_line\n"
        "    execute_from_command_line(sys.argv)\n"
    ),
    "shop/__init__.py": "",
    "shop/settings.py": (
        "from pathlib import Path\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        "SECRET_KEY = 'not-secret'\n"
        "DEBUG = False\n"
        "ALLOWED_HOSTS = ['*']\n"
        "INSTALLED_APPS = ['django.contrib.staticfiles']\n"
        "ROOT_URLCONF = 'shop.urls'\n"
        "WSGI_APPLICATION = 'shop.wsgi.application'\n"
        "STATIC_URL = 'static/'\n"
        "STATICFILES_DIRS = [BASE_DIR / 'assets']\n"
        "STATIC_ROOT = BASE_DIR / 'staticfiles'\n"
    ),
    "shop/urls.py": (
        "from django.http import HttpResponse\n"
        "from django.urls import path\n"
        "urlpatterns = [path('', lambda request: HttpResponse('hello from django'))]\n"
    ),
    "shop/wsgi.py": (
        "import os\n"
        "from django.core.wsgi import get_wsgi_application\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
        "application = get_wsgi_application()\n"
    ),
    "assets/site.css": "body { color: teal; }\n",
}


@pytest.fixture(scope="module")
def django_cache(tmp_path_factory) -> Path:
    """One cache for the Django builds of this module, as for the builds of one site."""
    cache = tmp_path_factory.mktemp("django-cache")
    chown_app_user(cache)
    return cache


def test_it_builds_a_django_project_with_collectstatic_and_serves_it_with_the_default_web_command(builds, django_cache):
    build = built(builds, "python", builds.source(files=DJANGO_PROJECT), django_cache)

    assert (build.slug / ".hosting/wsgi-module").read_text().strip() == "shop.wsgi:application"
    assert (build.slug / "staticfiles/site.css").read_text() == "body { color: teal; }\n"
    site = builds.serve("python", build.slug)  # no Procfile: gunicorn on the detected module
    assert "hello from django" in requests.get(site.url + "/", timeout=10).text


def test_a_django_project_without_static_root_builds_without_collectstatic(builds, django_cache):
    settings = DJANGO_PROJECT["shop/settings.py"].replace("STATIC_ROOT", "# STATIC_ROOT")
    files = {**DJANGO_PROJECT, "shop/settings.py": settings}

    build = built(builds, "python", builds.source(files=files), django_cache)

    assert "STATIC_ROOT is not set" in build.output
    assert not (build.slug / "staticfiles").exists()


def test_a_failing_collectstatic_fails_the_build(builds, django_cache):
    files = {**DJANGO_PROJECT, "shop/settings.py": DJANGO_PROJECT["shop/settings.py"].replace(
        "STATIC_ROOT = BASE_DIR / 'staticfiles'", "STATIC_ROOT = '/var/www/static'")}

    build = builds.build("python", builds.source(files=files), django_cache)

    assert build.result.exit_code != 0
    line = last_line(build.result)
    assert line.startswith("!") and "collectstatic" in line and "Read-only file system" in line, build.output


# --- PHP: a package registry out of reach ----------------------------------------------------------

def test_a_composer_package_that_cannot_be_fetched_fails_suggesting_to_commit_vendor(builds):
    composer = (
        '{"require": {"acme/widgets": "^1.0"},'
        ' "repositories": [{"type": "composer", "url": "https://packages.example.invalid"}, {"packagist.org": false}]}'
    )
    source = builds.source(files={"composer.json": composer, "index.php": "<?php echo 'hi';"})

    build = builds.build("php", source)

    assert build.result.exit_code != 0
    line = last_line(build.result)
    assert line.startswith("!") and "package registry" in line and "vendor/" in line, build.output
