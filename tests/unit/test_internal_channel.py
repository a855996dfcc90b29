"""Joining a host and the internal channel (/internal/v1/) at their own interfaces: add_host makes
the host's token and keeps only its digest; the endpoints let only a host with a valid token have a
slug, keep an upload only when its sha256 is the URL's, and give a build's source only to the host
the build is placed on."""
from __future__ import annotations

import hashlib
import shlex
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import AuditEvent
from accounts.services import create_organization
from hosting.host_tokens import HostJoinError, add_host, authenticate, token_digest
from hosting.models import Host
from sites import services
from sites.models import Deployment

pytestmark = pytest.mark.django_db

CONTROL_PLANE = "http://10.0.0.1:8000"


@pytest.fixture(autouse=True)
def stores(settings, tmp_path):
    settings.SLUGS_DIR = tmp_path / "slugs"
    settings.ARCHIVES_DIR = tmp_path / "archives"
    settings.SLUGS_DIR.mkdir()
    settings.ARCHIVES_DIR.mkdir()


@pytest.fixture(autouse=True)
def postgres(monkeypatch):
    """Whatever the tier's database, these fleets have more than one host: PostgreSQL's rules."""
    monkeypatch.setattr("hosting.fleet.database_vendor", lambda: "postgresql")


def agent(name: str, token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_HOST_NAME=name)


def building_on(host_name: str, name: str = "shop") -> Deployment:
    site = services.create_site(create_organization(name, f"{name}@example.com"), name)
    return Deployment.objects.create(site=site, trigger="push", state="building", host_name=host_name)


def test_it_adds_a_host_not_alive_with_only_its_token_digest_stored_and_audited():
    out = StringIO()
    call_command("add_host", "host-2", "--address", "10.0.0.2", "--control-plane-url", CONTROL_PLANE, stdout=out)
    host = Host.objects.get(name="host-2")
    token = out.getvalue().split("HOST_TOKEN=")[1].split()[0]
    assert host.token_digest == token_digest(token) and token not in host.token_digest
    assert host.last_heartbeat is None and not host.is_up()
    assert "manage.py agent --name host-2" in out.getvalue()
    assert "HOST_SERVICE_ADDRESS=10.0.0.2" in out.getvalue() and f"CONTROL_PLANE_URL={CONTROL_PLANE}" in out.getvalue()
    assert AuditEvent.objects.filter(action="staff.host_add", target="host-2").exists()
    assert authenticate("host-2", token) == host


def test_it_prints_a_command_that_runs_as_it_is_and_names_the_urls_only_this_machine_reaches(settings):
    settings.DATABASE_URL = "postgres://hosting:secret@127.0.0.1:5432/hosting"
    settings.REDIS_URL = "redis+socket:///var/lib/hosting/run/redis.sock"
    out, err = StringIO(), StringIO()
    call_command("add_host", "host-2", "--address", "10.0.0.2", "--control-plane-url", "http://localhost:8000",
                 stdout=out, stderr=err)
    command = shlex.split(out.getvalue()[out.getvalue().index("env "):].replace("\\\n", " "))
    assert command[-5:] == [".venv/bin/python", "manage.py", "agent", "--name", "host-2"]
    assert all("=" in word for word in command[1:-5])
    assert f"LOG_RELAY_PORT={settings.LOG_RELAY_PORT}" in command  # fleet-wide: logs are read on it everywhere
    assert "DATABASE_URL, REDIS_URL, CONTROL_PLANE_URL name this machine only" in err.getvalue()

    settings.DATABASE_URL = "postgres://hosting:secret@10.0.0.1:5432/hosting"
    settings.REDIS_URL = "redis://10.0.0.1:6379/0"
    err = StringIO()
    call_command("add_host", "host-3", "--address", "10.0.0.3", "--control-plane-url", CONTROL_PLANE,
                 stdout=StringIO(), stderr=err)
    assert err.getvalue() == ""


def test_it_refuses_an_existing_host_unless_the_token_is_rotated_and_then_the_old_one_fails():
    old = add_host("host-2", "10.0.0.2", CONTROL_PLANE).token
    with pytest.raises(CommandError, match="already exists"):
        call_command("add_host", "host-2", "--address", "10.0.0.2", "--control-plane-url", CONTROL_PLANE)
    assert authenticate("host-2", old) is not None
    new = add_host("host-2", "10.0.0.2", CONTROL_PLANE, rotate_token=True).token
    assert authenticate("host-2", old) is None and authenticate("host-2", new) is not None
    assert agent("host-2", old).get(f"/internal/v1/slugs/{'a' * 64}").status_code == 401


@pytest.mark.parametrize("name, address, message", [
    ("Host_2", "10.0.0.2", "not a valid host name"),
    ("host-2", "10.0.0.2; rm -rf /", "not an IP address"),
    ("host-2", "example.com", "not an IP address"),
])
def test_it_refuses_bad_names_and_addresses_clearly(name, address, message):
    with pytest.raises(HostJoinError, match=message):
        add_host(name, address, CONTROL_PLANE)
    assert not Host.objects.exists()


def test_it_refuses_a_second_host_on_sqlite(monkeypatch):
    monkeypatch.setattr("hosting.fleet.database_vendor", lambda: "sqlite")
    Host.objects.create(name="host-1")
    with pytest.raises(HostJoinError, match="PostgreSQL"):
        add_host("host-2", "10.0.0.2", CONTROL_PLANE)
    assert not Host.objects.filter(name="host-2").exists()
    add_host("host-1", "10.0.0.1", CONTROL_PLANE, rotate_token=True)  # the one host may still rotate


def test_it_serves_a_slug_only_with_a_valid_host_token(settings):
    token = add_host("host-2", "10.0.0.2", CONTROL_PLANE).token
    body = b"slug bytes"
    sha = hashlib.sha256(body).hexdigest()
    (settings.SLUGS_DIR / f"{sha}.tar.gz").write_bytes(body)
    url = f"/internal/v1/slugs/{sha}"
    assert Client().get(url).status_code == 401
    assert agent("host-2", "wrong").get(url).status_code == 401
    assert agent("host-3", token).get(url).status_code == 401
    response = agent("host-2", token).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == body
    assert agent("host-2", token).get(f"/internal/v1/slugs/{'b' * 64}").status_code == 404
    assert agent("host-2", token).get("/internal/v1/slugs/..%2F..%2Fdb.sqlite3").status_code == 404


def test_it_keeps_an_upload_only_when_its_sha256_is_the_urls(settings):
    token = add_host("builder", "10.0.0.2", CONTROL_PLANE).token
    building_on("builder")
    body = b"the built slug"
    sha = hashlib.sha256(body).hexdigest()
    wrong = hashlib.sha256(b"something else").hexdigest()
    refused = agent("builder", token).put(f"/internal/v1/slugs/{wrong}", body, content_type="application/gzip")
    assert refused.status_code == 400
    assert list(settings.SLUGS_DIR.iterdir()) == []  # nothing stays, not even a temporary file
    accepted = agent("builder", token).put(f"/internal/v1/slugs/{sha}", body, content_type="application/gzip")
    assert accepted.status_code == 201
    assert (settings.SLUGS_DIR / f"{sha}.tar.gz").read_bytes() == body
    assert [p.name for p in settings.SLUGS_DIR.iterdir()] == [f"{sha}.tar.gz"]


def test_it_keeps_no_upload_whose_body_is_not_its_content_length(settings):
    token = add_host("builder", "10.0.0.2", CONTROL_PLANE).token
    building_on("builder")
    body = b"the built slug"
    sha = hashlib.sha256(body).hexdigest()
    for declared, message in ((len(body) - 1, "longer than its Content-Length"), (len(body) + 1, "sha256")):
        response = agent("builder", token).put(f"/internal/v1/slugs/{sha}", body, content_type="application/gzip",
                                               HTTP_CONTENT_LENGTH=str(declared))
        assert response.status_code == 400 and message in response.json()["error"]
        assert list(settings.SLUGS_DIR.iterdir()) == []  # nothing stays, not even a temporary file


def test_it_refuses_uploads_from_a_host_with_no_build_and_past_the_builds_limit(settings):
    token = add_host("idle", "10.0.0.2", CONTROL_PLANE).token
    body = b"x"
    sha = hashlib.sha256(body).hexdigest()
    assert agent("idle", token).put(f"/internal/v1/slugs/{sha}", body, content_type="x").status_code == 403
    deployment = building_on("idle")
    limit = 2 * deployment.site.plan.build_disk_mb * 2**20
    response = agent("idle", token).put(f"/internal/v1/slugs/{sha}", body, content_type="x",
                                        HTTP_CONTENT_LENGTH=str(limit + 1))
    assert response.status_code == 413
    assert list(settings.SLUGS_DIR.iterdir()) == []


def test_it_gives_a_builds_source_only_to_the_host_it_is_placed_on(settings):
    mine = add_host("builder", "10.0.0.2", CONTROL_PLANE).token
    other = add_host("other", "10.0.0.3", CONTROL_PLANE).token
    deployment = building_on("builder")
    (settings.ARCHIVES_DIR / f"{deployment.pk}.tar").write_bytes(b"source")
    url = f"/internal/v1/builds/{deployment.pk}/source"
    assert Client().get(url).status_code == 401
    assert agent("other", other).get(url).status_code == 403
    assert agent("builder", mine).get(f"/internal/v1/builds/{deployment.pk + 1000}/source").status_code == 404
    response = agent("builder", mine).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"source"
