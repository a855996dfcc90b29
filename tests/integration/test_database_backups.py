"""A site's backup holds its database and its /data, on the real stack: rows written through the
site and a file in /data, a backup taken through the API, the table dropped and the file changed,
the backup restored: the rows and the file are back, served by the restarted site; another
organization's site with a database on the same server keeps what it had and what it wrote since.
PostgreSQL and MariaDB, each in the host's real server (Debian's packages), real Docker and Celery."""
from __future__ import annotations

import gzip

import pytest

from accounts.models import AuditEvent
from hosting import dbserver
from sites.models import Deployment
from tests.integration.support.deploying import api, served
from tests.integration.support.processes import wait_for
from tests.integration.test_databases import HOST, _deployed_with_database

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def database_servers_removed_afterwards(engine):
    """The test platform's database servers and their networks go when the module ends (the daemon is shared)."""
    yield
    for kind in dbserver.KINDS.values():
        engine.remove(dbserver.server_name(HOST, kind))
        for network in engine.networks({"hosting.managed": "true", **dbserver.network_labels(HOST, kind=kind)}):
            engine.remove_network_with_members(network)


def _ended(platform, owner, site: str, backup_id: int) -> dict:
    def state():
        body = next(b for b in api(platform, owner, "GET", f"sites/{site}/backups/").json() if b["id"] == backup_id)
        return body if body["state"] != "running" else None

    return wait_for(state, 180, f"backup {backup_id} of {site} to end")


@pytest.mark.parametrize("engine_name", ["postgresql", "mariadb"])
def test_a_backup_brings_back_the_database_and_data_and_leaves_another_sites_database_alone(
        deploy_env, tmp_path, engine_name):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site, _ = _deployed_with_database(deploy_env, tmp_path, "owner", "dbbk", engine=engine_name)
    other, _ = _deployed_with_database(deploy_env, tmp_path, "outsider", "dbbko", engine=engine_name)
    for note in ("order-1001", "order-1002"):
        assert served(platform, site, f"/write?note={note}").text == "written\n"
    assert served(platform, site, "/file?write=invoice-77").text == "wrote\n"
    assert served(platform, other, "/write?note=sentinel").text == "written\n"

    taken = api(platform, owner, "POST", f"sites/{site}/backups/")
    assert taken.status_code == 202, taken.text
    backup = _ended(platform, owner, site, taken.json()["id"])
    assert backup["state"] == "succeeded", backup["error"]
    [held] = backup["databases"]
    assert held["engine"] == engine_name and backup["size_bytes"] > held["size_bytes"] > 0
    dump = api(platform, owner, "GET", f"sites/{site}/backups/{backup['id']}/download/{engine_name}/")
    assert dump.status_code == 200 and b"order-1002" in gzip.decompress(dump.content)  # what a customer downloads

    # The damage: the table gone, the file changed; the other site writes on meanwhile.
    assert served(platform, site, "/drop").text == "dropped\n"
    assert served(platform, site, "/read").status_code == 500
    assert served(platform, site, "/file?write=DAMAGED").text == "wrote\n"
    assert served(platform, other, "/write?note=after-the-backup").text == "written\n"

    restarts = Deployment.objects.filter(site__name=site, trigger="restart").count()
    restored = api(platform, owner, "POST", f"sites/{site}/backups/{backup['id']}/restore/")
    assert restored.status_code == 202, restored.text
    wait_for(lambda: Deployment.objects.filter(site__name=site, trigger="restart", state="succeeded").count()
             > restarts, 300, "the site to restart after the restore")

    assert served(platform, site, "/read").text == "notes: 2\n"
    assert served(platform, site, "/file").text == "invoice-77\n"
    assert served(platform, site, "/write?note=order-1003").text == "written\n"  # writable as before
    assert served(platform, other, "/read").text == "notes: 2\n"  # its sentinel, and what it wrote since
    assert AuditEvent.objects.filter(action="site.backup_restored", site_name=site).exists()
