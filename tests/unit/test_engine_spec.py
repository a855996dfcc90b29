from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import PlatformError
from hosting.engine_errors import translate as _translate
from hosting.spec import ContainerSpec, ResourceLimits
from core.errors import TransientError

LIMITS = ResourceLimits(memory_mb=128, cpu_millicores=250, pids=64)


def spec(**overrides) -> ContainerSpec:
    values = dict(site="blog", release="v3", instance="web-1", image="img", command=("x",), limits=LIMITS,
                  slug_dir=Path("/slugs/a"), data_dir=None, host_port=20001)
    return ContainerSpec(**{**values, **overrides})


def test_its_name_is_deterministic():
    assert spec().name == "site-blog-v3-web-1" == spec().name


@pytest.mark.parametrize("site", ["Blog", "blog;rm", "-blog", "blog_1", "a" * 64, "blog.example", ""])
def test_it_refuses_identifiers_that_are_not_dns_labels(site):
    with pytest.raises(ValueError, match="not a lowercase DNS label"):
        spec(site=site)


@pytest.mark.parametrize("key", ["1X", "A-B", "A B", "A=B", ""])
def test_it_refuses_bad_environment_keys(key):
    with pytest.raises(ValueError, match="environment key"):
        spec(env={key: "v"})


def test_it_refuses_limits_too_small_to_run():
    with pytest.raises(ValueError):
        ResourceLimits(memory_mb=4, cpu_millicores=250, pids=64)


def test_docker_errors_become_ours():
    import docker.errors
    import requests

    missing = _translate(docker.errors.ImageNotFound("no such image"), "starting blog")
    assert isinstance(missing, PlatformError) and "build_images" in str(missing)
    down = _translate(requests.exceptions.ConnectionError("refused"), "starting blog")
    assert isinstance(down, TransientError)
