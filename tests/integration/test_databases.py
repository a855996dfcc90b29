"""Managed PostgreSQL databases on the real stack: the host's server (Debian's package), a site that
reads and writes through DATABASE_URL, another site that cannot get in with the first one's
credentials, and a database over its plan's size that takes reads but no writes."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from hosting import dbserver
from tests.integration.support.databases import HOST, attach_database
from tests.integration.support.databases import database_servers_removed_afterwards  # noqa: F401 (a fixture)
from tests.integration.support.deploying import api, create_site, finished_deployment, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("database_servers_removed_afterwards")]


def _deployed_with_database(deploy_env, tmp_path, customer: str, prefix: str,
                            engine: str = "postgresql") -> tuple[str, dict]:
    platform, customers, _ = deploy_env
    who = customers[customer]
    site = create_site_for(deploy_env, customer, prefix)
    push(deploy_env, workdir_with(tmp_path, "python-db"), site, customer=customer)
    assert served(platform, site).text == "database: no\n"
    attach_database(platform, who, site, engine)
    config = wait_for(lambda: _config_deployment(platform, who, site), 30, "the config release")
    detail = finished_deployment(platform, who, site, config["id"], timeout=120)
    assert detail["state"] == "succeeded", detail["log"]
    credentials = api(platform, who, "GET", f"sites/{site}/databases/{engine}/credentials/").json()
    return site, credentials


def create_site_for(deploy_env, customer: str, prefix: str) -> str:
    if customer == "owner":
        return create_site(deploy_env, prefix)
    platform, customers, created = deploy_env
    import uuid  # noqa: PLC0415 (one helper's name)

    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    response = api(platform, customers[customer], "POST", "sites/", json={"name": name})
    assert response.status_code == 201, response.text
    created.append(name)
    return name


def _config_deployment(platform, who, site: str) -> dict | None:
    deployments = api(platform, who, "GET", f"sites/{site}/deployments/").json()
    return next((d for d in deployments if d["trigger"] == "config"), None)


def _get(platform, site: str, path: str):
    return served(platform, site, path)


def test_a_site_reads_and_writes_its_database_and_another_site_cannot_get_in(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    site_a, credentials_a = _deployed_with_database(deploy_env, tmp_path, "owner", "dba")
    assert _get(platform, site_a, "/").text == "database: yes\n"
    assert _get(platform, site_a, "/write?note=hello").text == "written\n"
    assert _get(platform, site_a, "/read").text == "notes: 1\n"

    # Wrong credentials fail, from the site's own container.
    url_a = urlsplit(credentials_a["url"])
    wrong = credentials_a["url"].replace(f":{url_a.password}@", ":not-the-password@")
    answer = _get(platform, site_a, f"/connect?url={quote(wrong, safe='')}").text
    assert "password authentication failed" in answer, answer

    # Site B (another organization, with a database of its own on the same server) has A's right
    # credentials: A's address is not on any network of B's, and the server's address on B's own
    # network admits only B's role.
    site_b, credentials_b = _deployed_with_database(deploy_env, tmp_path, "outsider", "dbb")
    answer = _get(platform, site_b, f"/connect?url={quote(credentials_a['url'], safe='')}").text
    assert answer.startswith("error:") and "connected" not in answer, answer
    via_b = credentials_a["url"].replace(f"@{url_a.hostname}:", f"@{urlsplit(credentials_b['url']).hostname}:")
    answer = _get(platform, site_b, f"/connect?url={quote(via_b, safe='')}").text
    assert "pg_hba.conf rejects connection" in answer, answer
    # ... while B's own credentials work from B, and A still has its row.
    assert _get(platform, site_b, f"/connect?url={quote(credentials_b['url'], safe='')}").text.startswith("connected")
    assert _get(platform, site_a, "/read").text == "notes: 1\n"


def _check_sizes_now() -> None:
    """What beat does every DATABASE_SIZE_CHECK_SECONDS, now: the host's agent measures its databases."""
    from hosting.models import Host  # noqa: PLC0415 (the test platform's rows, after its migrations)
    from sites.database_tasks import check_database_sizes_on_host  # noqa: PLC0415

    check_database_sizes_on_host.apply_async(args=[HOST], queue=Host.objects.get(name=HOST).queue)


def test_a_database_over_its_plans_size_takes_reads_but_no_writes_until_it_fits(deploy_env, tmp_path):
    from accounts.models import Organization, Plan  # noqa: PLC0415
    from sites.plans import change_plan  # noqa: PLC0415

    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site, _ = _deployed_with_database(deploy_env, tmp_path, "owner", "dbsize")
    assert _get(platform, site, "/write?note=before").text == "written\n"
    assert _get(platform, site, "/grow?mb=3").text == "grown\n"
    organization = Organization.objects.get(slug=owner.organization)
    starter = organization.plan
    tiny = Plan.objects.get(pk=starter.pk)
    tiny.pk, tiny.name, tiny.is_default, tiny.database_mb = None, f"tiny-{site}", False, 8
    tiny.save()
    change_plan(organization, tiny)

    def writes() -> str:
        return api(platform, owner, "GET", f"sites/{site}/databases/postgresql/").json()["writes"]

    _check_sizes_now()
    wait_for(lambda: writes() == "read_only", 60, "the size check to make the database read-only")
    refused = _get(platform, site, "/write?note=after")
    assert refused.status_code == 500 and "read-only transaction" in refused.text, refused.text
    assert _get(platform, site, "/read").text == "notes: 1\n"  # reads go on

    change_plan(organization, starter)  # a bigger plan: writable again at the next check
    _check_sizes_now()
    wait_for(lambda: writes() == "writable", 60, "the size check to make the database writable again")
    assert _get(platform, site, "/write?note=after").text == "written\n"
    assert _get(platform, site, "/read").text == "notes: 2\n"


def test_deleting_a_site_drops_its_database_and_network(deploy_env, tmp_path, engine):
    platform, customers, created = deploy_env
    site, credentials = _deployed_with_database(deploy_env, tmp_path, "owner", "dbgone")
    name = urlsplit(credentials["url"]).username
    assert engine.network_exists(dbserver.network_name(name))
    assert api(platform, customers["owner"], "DELETE", f"sites/{site}/").status_code in (202, 204)
    created.remove(site)
    wait_for(lambda: not engine.network_exists(dbserver.network_name(name)) or None, 60, "the purge of the database")


def test_a_site_reads_and_writes_its_mariadb_database_and_another_site_cannot_get_in(deploy_env, tmp_path):
    platform, _, _ = deploy_env
    site_a, credentials_a = _deployed_with_database(deploy_env, tmp_path, "owner", "mya", engine="mariadb")
    assert credentials_a["url"].startswith("mysql://") and credentials_a["env"]["MYSQL_PORT"] == "3306"
    assert _get(platform, site_a, "/write?note=hello").text == "written\n"
    assert _get(platform, site_a, "/read").text == "notes: 1\n"
    url_a = urlsplit(credentials_a["url"])
    wrong = credentials_a["url"].replace(f":{url_a.password}@", ":not-the-password@")
    assert "Access denied" in _get(platform, site_a, f"/connect?url={quote(wrong, safe='')}").text

    site_b, credentials_b = _deployed_with_database(deploy_env, tmp_path, "outsider", "myb", engine="mariadb")
    answer = _get(platform, site_b, f"/connect?url={quote(credentials_a['url'], safe='')}").text
    assert answer.startswith("error:") and "connected" not in answer, answer
    via_b = credentials_a["url"].replace(f"@{url_a.hostname}:", f"@{urlsplit(credentials_b['url']).hostname}:")
    answer = _get(platform, site_b, f"/connect?url={quote(via_b, safe='')}").text
    assert "Access denied for user" in answer, answer  # no account of A's for B's network
    assert _get(platform, site_b, f"/connect?url={quote(credentials_b['url'], safe='')}").text.startswith("connected")
