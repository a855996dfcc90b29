"""Archive uploads stop at the plan's max_push_mb while they stream: with a Content-Length that is
too large nothing is read; without one (chunked) reading stops just past the limit."""
from __future__ import annotations

import io

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Plan
from accounts.services import create_organization, get_or_create_user, issue_token
from hosting.models import Host
from sites.models import Deployment
from sites.services import create_site

pytestmark = pytest.mark.django_db

BOUNDARY = "xYzBoundary"
MB = 2**20


class EndlessUpload(io.RawIOBase):
    """A multipart body whose file part never ends, counting what the server reads of it."""

    def __init__(self) -> None:
        self.head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"a.tar\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size is None or size < 0 else size
        if self.read_bytes < len(self.head):
            chunk = self.head[self.read_bytes:self.read_bytes + size]
        else:
            chunk = b"\0" * size
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


@pytest.fixture
def owner_client(settings, tmp_path):
    settings.ARCHIVES_DIR = tmp_path / "archives"
    plan = Plan.objects.create(name="tiny", label="Tiny", memory_mb=128, cpu_millicores=100, pids_limit=64, disk_mb=64,
                               max_sites=3, max_custom_domains=1, max_push_mb=1, build_timeout_seconds=60)
    Host.objects.create(name="h1", cpus=4, memory_mb=16000, last_heartbeat=timezone.now())
    create_site(create_organization("acme", "owner@example.com", plan=plan), "shop")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(get_or_create_user('owner@example.com'))}")
    return client, tmp_path / "archives"


def _post(client, stream, **meta):
    return client.generic("POST", "/api/v1/sites/shop/deployments/", b"x", content_type=f"multipart/form-data; boundary={BOUNDARY}",
                          **{"wsgi.input": stream, **meta})


def test_a_declared_length_over_the_plan_is_refused_before_reading(owner_client):
    client, archives = owner_client
    stream = EndlessUpload()
    response = _post(client, stream, CONTENT_LENGTH=str(50 * MB))
    assert response.status_code == 413 and "plan allows (1 MB)" in response.json()["detail"]
    assert stream.read_bytes == 0
    assert not Deployment.objects.exists() and not archives.exists()


def test_a_chunked_upload_is_cut_off_just_past_the_plan(owner_client):
    client, archives = owner_client
    stream = EndlessUpload()
    response = _post(client, stream, CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 413, response.content
    assert MB < stream.read_bytes <= MB + 256 * 1024  # read up to the limit and a chunk, never the rest
    assert not Deployment.objects.exists() and not archives.exists()


def test_an_archive_within_the_plan_deploys(owner_client):
    client, archives = owner_client
    upload = io.BytesIO(b"\0" * (MB - 1000))
    upload.name = "app.tar"
    response = client.post("/api/v1/sites/shop/deployments/", {"archive": upload})
    assert response.status_code == 202, response.content
    assert [p.stat().st_size for p in archives.iterdir()] == [MB - 1000]
