"""Archive uploads stop at the plan's max_push_mb while they stream: with a Content-Length that is
too large nothing is read; without one (chunked) reading stops just past the limit. An upload whose
content is not a .tar.gz, .tar or .zip is refused at once (400), whatever its name."""
from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

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
    upload = io.BytesIO(tar_of({"index.html": b"\0" * (MB - 20_000)}))
    upload.name = "app.tar"
    response = client.post("/api/v1/sites/shop/deployments/", {"archive": upload})
    assert response.status_code == 202, response.content
    assert [p.stat().st_size for p in archives.iterdir()] == [len(upload.getvalue())]


def tar_of(files: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("name, content", [
    ("app.tar.gz", b"<html>not an archive</html>\n"),
    ("app.zip", b"\x89PNG\r\n\x1a\n" + b"\0" * 600),
    ("app.tar.gz", gzip.compress(b"just one gzipped text file\n" * 40)),  # gzip, but no tar inside
    ("app.tar", b"\0" * 2048),
], ids=["html", "png", "gzip-of-text", "zeros"])
def test_an_upload_that_is_not_an_archive_is_refused_at_once(owner_client, name, content):
    client, archives = owner_client
    upload = io.BytesIO(content)
    upload.name = name
    response = client.post("/api/v1/sites/shop/deployments/", {"archive": upload})
    assert response.status_code == 400, response.content
    problem = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert f"{name} is not a .tar.gz, .tar or .zip archive" in problem["detail"] and "archive" in problem["errors"]
    assert not Deployment.objects.exists() and not (archives.exists() and any(archives.iterdir()))


@pytest.mark.parametrize("name, content", [
    ("app.tar.gz", tar_of({"index.html": b"hi\n"}, "w:gz")),
    ("source", tar_of({"index.html": b"hi\n"}, "w:gz")),  # the content counts, not the name
    ("app.tar", tar_of({"index.html": b"hi\n"})),
    ("app.zip", zip_of({"index.html": b"hi\n"})),
], ids=["tar.gz", "unnamed-tar.gz", "tar", "zip"])
def test_real_archives_are_accepted_whatever_their_name(owner_client, name, content):
    client, _ = owner_client
    upload = io.BytesIO(content)
    upload.name = name
    assert client.post("/api/v1/sites/shop/deployments/", {"archive": upload}).status_code == 202
