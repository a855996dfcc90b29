"""The log relay passes only reads of a site container's logs and state to Docker."""
from __future__ import annotations

import pytest

from hosting.log_relay import allowed_target


def site_only(ref: str) -> bool:
    return ref.startswith("site-") or ref == "a" * 64


@pytest.mark.parametrize("target", [
    "/_ping", "/version", "/v1.41/version",
    "/v1.41/containers/site-blog-1-abc/json", "/v1.41/containers/" + "a" * 64 + "/json",
    "/v1.41/containers/" + "a" * 64 + "/logs?stderr=1&stdout=1&timestamps=0&follow=1&tail=100",
])
def test_it_passes_reads_of_site_containers(target):
    assert allowed_target(target, site_only)


@pytest.mark.parametrize("target", [
    "/v1.41/containers/json",  # the list of every container
    "/v1.41/containers/create",
    "/v1.41/containers/postgres/json",  # not a site's
    "/v1.41/containers/postgres/logs",
    "/v1.41/containers/site-blog-1-abc/exec",
    "/v1.41/containers/site-blog-1-abc/archive?path=/",
    "/v1.41/containers/site-blog-1-abc/logs?stdout=1&path=/etc",
    "/v1.41/containers/../images/json",
    "/v1.41/images/json", "/v1.41/info", "/_ping?x=1", "/v1.41/containers/site-x/json/../../info",
    "http://docker/v1.41/version",
])
def test_it_refuses_everything_else(target):
    assert not allowed_target(target, site_only)


@pytest.mark.parametrize("target", ["/v1.41/version HTTP/1.1\r\nX: y", "/v1.41/containers/site-a/logs?tail=1 x"])
def test_it_refuses_targets_that_would_change_the_request(target):
    assert not allowed_target(target, site_only)
