"""Backups of a site on a host without the control plane's disk, at their own interfaces: the
internal channel takes a backup's parts only from the host taking it (sha256 checked, nothing kept
otherwise) and gives them only to the host running the site; that host's agent makes the parts in a
folder of its own, sends them and keeps nothing, and fetches them before a restore, which refuses
before touching anything when what arrives is not what was taken."""
from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from accounts.models import AuditEvent
from hosting import dbdump, slug_cache, volume_backup
from hosting.host_tokens import add_host
from hosting.models import Host, Instance
from hosting.spec import OneOffResult
from sites import data_backups
from sites.models import Site, SiteBackup
from tests.portal_data import seed_database
from tests.unit.test_database_backups import FakeEngine, _packed, _Spec, fake_workspace

pytestmark = pytest.mark.django_db

CONTROL_PLANE = "http://10.0.0.1:8000"


@pytest.fixture
def far(world, monkeypatch) -> dict:
    """The world's site running on host `far`, which has an agent token; another host `near`."""
    monkeypatch.setattr("hosting.fleet.database_vendor", lambda: "postgresql")
    tokens = {name: add_host(name, address, CONTROL_PLANE).token for name, address in (("far", "10.0.0.2"),
                                                                                      ("near", "10.0.0.3"))}
    instance = Instance.objects.create(host=Host.objects.get(name="far"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running", memory_mb=256, cpu_millicores=250)
    Site.objects.filter(pk=world["site"].pk).update(current_instance=instance)
    return {name: Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_HOST_NAME=name) for name, token in tokens.items()}


def _put(client: Client, backup: SiteBackup, part: str, body: bytes, sha256: str | None = None):
    return client.put(f"/internal/v1/backups/{backup.pk}/{part}", body, content_type="application/gzip",
                      HTTP_X_CONTENT_SHA256=sha256 or hashlib.sha256(body).hexdigest())


def test_the_channel_takes_parts_only_from_the_host_taking_it_and_gives_them_only_to_the_sites_host(world, far):
    backup = SiteBackup.objects.create(site=world["site"], kind="manual", host_name="far")
    assert _put(far["near"], backup, "data", b"tarball").status_code == 403
    assert _put(Client(), backup, "data", b"tarball").status_code == 401
    assert _put(far["far"], backup, "data", b"tarball", "c" * 64).status_code == 400
    assert not data_backups.tarball(backup).exists() and not list(data_backups.store().glob(".incoming-*"))
    assert _put(far["far"], backup, "..%2Fsecrets", b"tarball").status_code == 404
    assert _put(far["far"], backup, "data", b"tarball").status_code == 201
    assert _put(far["far"], backup, "postgresql", b"-- dump").status_code == 201
    assert data_backups.tarball(backup).read_bytes() == b"tarball"
    assert data_backups.dump_file(backup, "postgresql").read_bytes() == b"-- dump"

    url = f"/internal/v1/backups/{backup.pk}/data"
    assert far["far"].get(url).status_code == 404  # not taken completely yet
    SiteBackup.objects.filter(pk=backup.pk).update(state="succeeded")
    assert _put(far["far"], backup, "data", b"other").status_code == 403  # a backup taken stays as it was
    assert far["near"].get(url).status_code == 403 and Client().get(url).status_code == 401
    fetched = far["far"].get(url)
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == b"tarball"


@pytest.fixture
def remote_agent(far, settings, monkeypatch, tmp_path):
    """This process is host `far`'s agent too, talking to the control plane through Django's test client."""
    fake_workspace(monkeypatch, tmp_path)
    settings.CONTROL_PLANE_URL, settings.HOST_NAME = CONTROL_PLANE, "far"
    client = far["far"]

    def put(url_path, path, headers):
        response = client.put(url_path, path.read_bytes(), content_type="application/gzip",
                              HTTP_X_CONTENT_SHA256=headers["X-Content-Sha256"])
        return response.status_code, response.content.decode()

    def fetch(url_path):
        response = client.get(url_path)
        if response.status_code != 200:
            raise slug_cache.SlugUnavailable(f"the control plane answered {response.status_code} for {url_path}")
        yield b"".join(response.streaming_content)

    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: None)
    monkeypatch.setattr(slug_cache, "put_file", put)
    monkeypatch.setattr(slug_cache, "fetch_chunks", fetch)
    monkeypatch.setattr(data_backups, "_spec", lambda site, backup, empty_app: _Spec())
    monkeypatch.setattr(data_backups.services, "restart", lambda site: None)


def _leftovers() -> list[str]:
    return [path.name for path in data_backups.workspace(Site.objects.get(name="shop")).builds.iterdir()]


def test_a_far_host_sends_what_it_took_keeps_nothing_and_fetches_it_back_to_restore(world, monkeypatch, remote_agent):
    seed_database(world["site"]).__class__.objects.update(host_name="far")
    monkeypatch.setattr(volume_backup, "pack_volume", lambda engine, spec, folder, limit, deadline:
                        _packed(folder, b"the tarball"))
    monkeypatch.setattr(dbdump, "dump", lambda engine, host, kind, name, folder, limit, deadline:
                        _packed(folder, b"-- the dump"))
    backup = data_backups.run_backup(data_backups.take(Site.objects.get(name="shop")).pk, FakeEngine())
    assert backup.state == "succeeded", backup.error
    assert data_backups.tarball(backup).read_bytes() == b"the tarball"  # in the control plane's store
    assert data_backups.dump_file(backup, "postgresql").read_bytes() == b"-- the dump"
    assert _leftovers() == []

    restored = []
    monkeypatch.setattr(dbdump, "restore", lambda engine, host, kind, name, path, connections, writes, timeout:
                        restored.append((kind, path.parent != data_backups.store(), path.read_bytes())))
    monkeypatch.setattr(volume_backup, "restore_volume", lambda engine, spec, tarball, timeout:
                        restored.append(("data", tarball.parent != data_backups.store(), tarball.read_bytes()))
                        or OneOffResult(0, False, "", False))
    data_backups.run_restore(backup.pk, FakeEngine())
    assert restored == [("postgresql", True, b"-- the dump"), ("data", True, b"the tarball")]  # fetched copies
    assert _leftovers() == []

    data_backups.dump_file(backup, "postgresql").write_bytes(b"-- swapped")  # damaged in the store
    restored.clear()
    data_backups.run_restore(backup.pk, FakeEngine())
    assert restored == [] and _leftovers() == []
    reason = AuditEvent.objects.filter(action="site.backup_restore_failed").latest("id").detail["reason"]
    assert reason.startswith("the backup could not be fetched intact: what was fetched from /internal/v1/backups/")
    assert reason.endswith("/data and the databases were not touched")
