"""build_images is idempotent: a second run builds nothing (the first, cold run happens in make test)."""
from __future__ import annotations

import subprocess
import sys

import docker
import pytest

from hosting.images import os_image_recipe, runtime_image
from hosting.runtimes import CATALOG
from tests.integration.support.processes import BASE_DIR


def test_a_second_build_images_rebuilds_nothing():
    client = docker.from_env()
    tags = [os_image_recipe().tag] + [runtime_image(name) for name in CATALOG]
    ids_before = {tag: client.images.get(tag).id for tag in tags}

    result = subprocess.run([sys.executable, "manage.py", "build_images"], cwd=BASE_DIR, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr
    assert "(0 built)" in result.stdout
    for tag in tags:
        assert f"up to date: {tag}" in result.stdout
        assert client.images.get(tag).id == ids_before[tag]


def test_the_os_image_trusts_the_extra_ca_certificates(engine):
    recipe = os_image_recipe()
    if not recipe.extra_certificates:
        pytest.skip("this host's CA bundle adds nothing to Debian's")
    bundle = engine.client.containers.run(recipe.tag, ["cat", "/etc/ssl/certs/ca-certificates.crt"], remove=True).decode()
    normalized = " ".join(bundle.split())
    for pem in recipe.extra_certificates:
        assert " ".join(pem.split()) in normalized
