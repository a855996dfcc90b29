"""This host's slug cache, fed through the real /internal/v1 endpoints (Django's test client as
the transport): a miss is fetched and verified, a corrupted cached slug is fetched again and never
returned, a slug that arrives damaged is not kept, eviction keeps the cache bounded without removing
what this host's instances use."""
from __future__ import annotations

import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from core.errors import TransientError
from hosting import slug_cache
from hosting.host_tokens import add_host
from sites.models import Slug
from sites.pipeline.release import verify_slug

pytestmark = pytest.mark.django_db


@pytest.fixture
def control_plane(settings, tmp_path, monkeypatch):
    """The control plane's store, and this host's cache in its own data dir."""
    monkeypatch.setattr("hosting.fleet.database_vendor", lambda: "postgresql")
    store = tmp_path / "control-plane" / "slugs"
    store.mkdir(parents=True)
    token = add_host("far", "10.0.0.9", "http://10.0.0.1:8000").token
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_HOST_NAME="far")
    fetched = []

    def fetch(path):
        fetched.append(path)
        settings.SLUGS_DIR = store  # the control plane's view, for the duration of the request
        try:
            response = client.get(path)
            if response.status_code != 200:
                raise slug_cache.SlugUnavailable(str(response.status_code))
            return iter([b"".join(response.streaming_content)])
        finally:
            settings.SLUGS_DIR = tmp_path / "agent" / "slugs"

    settings.SLUGS_DIR = tmp_path / "agent" / "slugs"
    settings.CONTROL_PLANE_URL = "http://10.0.0.1:8000"
    monkeypatch.setattr(slug_cache, "fetch_chunks", fetch)
    return store, fetched


def put(store, body: bytes) -> str:
    sha = hashlib.sha256(body).hexdigest()
    (store / f"{sha}.tar.gz").write_bytes(body)
    return sha


def test_it_fetches_a_missing_slug_once_and_verifies_it(control_plane):
    store, fetched = control_plane
    sha = put(store, b"slug one")
    path = slug_cache.ensure(sha)
    assert path.read_bytes() == b"slug one" and path.parent != store
    slug_cache.ensure(sha)
    assert fetched == [f"/internal/v1/slugs/{sha}"]


def test_it_fetches_a_corrupted_cached_slug_again_and_never_returns_it(control_plane):
    store, fetched = control_plane
    sha = put(store, b"the real slug")
    path = slug_cache.ensure(sha)
    path.write_bytes(b"tampered")
    assert slug_cache.ensure(sha).read_bytes() == b"the real slug"
    assert len(fetched) == 2


def test_it_keeps_nothing_when_the_fetched_bytes_are_not_the_slug(control_plane):
    store, _ = control_plane
    sha = hashlib.sha256(b"expected").hexdigest()
    (store / f"{sha}.tar.gz").write_bytes(b"swapped on the control plane")
    with pytest.raises(slug_cache.SlugUnavailable, match="checksum"):
        slug_cache.ensure(sha)
    assert list(slug_cache.cache_dir().iterdir()) == []


def test_it_evicts_least_recently_used_but_never_a_slug_in_use(control_plane, settings):
    store, _ = control_plane
    settings.SLUG_CACHE_MB = 2
    mb = b"x" * (2**20 - 16)
    in_use, old, newer = (put(store, mb + bytes([i]) * 16) for i in range(3))
    for age, sha in enumerate([in_use, old, newer]):
        path = slug_cache.ensure(sha, keep=[in_use])
        os.utime(path, (1000 + age, 1000 + age))  # in_use is the least recently used
    cached = {p.name.removesuffix(".tar.gz") for p in slug_cache.cache_dir().glob("*.tar.gz")}
    assert cached == {in_use, newer}


def test_it_refuses_a_name_that_is_not_a_sha256(control_plane):
    with pytest.raises(ValueError):
        slug_cache.ensure("../../etc/passwd")


class Answers(BaseHTTPRequestHandler):
    """A stand-in control plane on loopback that answers every request with the path's status."""

    def do_GET(self) -> None:
        self.send_response(int(self.path.rsplit("/", 1)[-1][:3]))
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def answering(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.CONTROL_PLANE_URL = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()


def test_it_calls_an_unreachable_or_failing_control_plane_transient_and_a_missing_slug_not(
        answering, settings, tmp_path):
    target = tmp_path / "slug.tar.gz"
    for status in ("503", "500"):
        with pytest.raises(slug_cache.ControlPlaneUnreachable):
            slug_cache.download(f"/internal/v1/slugs/{status}", target)
    with pytest.raises(slug_cache.SlugUnavailable) as missing:
        slug_cache.download("/internal/v1/slugs/404", target)
    assert not isinstance(missing.value, TransientError)
    answering.shutdown()
    answering.server_close()  # nothing listens any more
    with pytest.raises(slug_cache.ControlPlaneUnreachable):
        slug_cache.download("/internal/v1/slugs/200", target)
    assert not target.exists() and list(tmp_path.glob(".*")) == []  # no temporary file left either


def test_it_retries_a_release_whose_slug_the_control_plane_could_not_send_yet(monkeypatch, settings):
    """The start task's retry (PlatformTask retries TransientError) needs the error to pass through."""
    settings.CONTROL_PLANE_URL = "http://127.0.0.1:9"

    def unreachable(sha256, keep=()):
        raise slug_cache.ControlPlaneUnreachable("connection refused")

    monkeypatch.setattr(slug_cache, "ensure", unreachable)
    with pytest.raises(TransientError):
        verify_slug(Slug(sha256="a" * 64))
