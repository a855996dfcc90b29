"""Managed databases without a server: names, URL and variables, encryption, quotas, rotation,
the size rule, placement on the database's host, pg_hba.conf, and the API's tenancy and roles."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from hosting import dbadmin, dbserver
from hosting.models import Host
from hosting.placement import NoHostAvailable, place_instance
from hosting.spec import ContainerSpec, ResourceLimits
from sites import databases
from sites.config_crypto import decrypt, decrypt_config
from sites.database_env import database_env, database_host, database_name, database_networks, env_of
from sites.database_models import Database
from sites.models import Deployment, Release
from sites.pipeline import machine

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list, str]]:
    """The agent tasks the service sends (by name, on commit)."""
    calls: list = []
    def send_task(name, args=None, kwargs=None, queue=None, **options):
        if name in databases.AGENT_TASKS.values():
            calls.append((name, args, queue))

    monkeypatch.setattr(databases.current_app, "send_task", send_task)
    return calls


def _ready(database: Database, address: str = "10.215.0.34") -> Database:
    Database.objects.filter(pk=database.pk).update(state=Database.State.READY, server_address=address,
                                                   network=dbserver.network_name(database.name))
    database.refresh_from_db()
    return database


# --- names, URL, variables -----------------------------------------------------------------------

def test_it_names_the_database_and_role_after_the_site_uuid_never_its_name(world):
    site = world["site"]
    name = database_name(site)
    assert name == f"site_{site.uuid.hex}" and site.name not in name
    assert dbadmin.DATABASE_NAME.fullmatch(name)
    assert dbserver.network_name(name) == f"hosting-db-site-{site.uuid.hex}"
    assert len(dbserver.bridge_name(name)) <= 15


def test_it_refuses_any_other_name_before_sql(world):
    for bad in ("shop", 'site_x"; DROP DATABASE postgres; --', "site_" + "A" * 32, "site_" + "a" * 33):
        with pytest.raises(ValueError):
            dbadmin._checked(bad)


def test_it_gives_the_site_database_url_and_pg_variables(world, sent):
    database = _ready(databases.attach(world["site"]))
    env = env_of(database)
    url = urlsplit(env["DATABASE_URL"])
    password = decrypt(database.encrypted_password)
    assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", "10.215.0.34", 5432, f"/{database.name}")
    assert (url.username, url.password) == (database.name, password)
    assert env["PGHOST"] == "10.215.0.34" and env["PGUSER"] == env["PGDATABASE"] == database.name
    assert env["PGPASSWORD"] == password and env["PGPORT"] == "5432"


def test_it_stores_a_generated_password_encrypted(world, sent):
    database = databases.attach(world["site"])
    password = decrypt(database.encrypted_password)
    assert len(password) >= 40 and password not in database.encrypted_password
    assert databases.attach.__module__  # (the password is never an argument: nobody types it)


def test_only_a_ready_database_reaches_the_release_and_the_containers(world, sent):
    site = world["site"]
    database = databases.attach(site)
    assert database_env(site) == {} and database_networks(site, "h1") == ()
    _ready(database)
    assert "DATABASE_URL" in decrypt_config(machine.current_config(site))
    assert database_networks(site, "h1") == (database.network,)
    assert database_networks(site, "elsewhere") == ()


# --- attach: engines, quota, audit, the agent ---------------------------------------------------

def test_it_attaches_on_the_sites_host_and_sends_the_agent_its_task(world, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        database = databases.attach(world["site"])
    assert database.state == Database.State.CREATING and database.host_name == "h1"
    assert sent == [("sites.agent.provision_database", [database.pk], Host.objects.get(name="h1").queue)]
    assert AuditEvent.objects.filter(action="database.attach", target=database.name).exists()


def test_it_refuses_an_unknown_engine_and_a_second_database_of_one_engine(world, sent):
    with pytest.raises(ValidationError, match="Unknown database engine"):
        databases.attach(world["site"], "oracle")
    databases.attach(world["site"])
    with pytest.raises(ValidationError, match="already"):
        databases.attach(world["site"])


def test_it_counts_databases_against_the_plan(world, sent):
    plan = world["site"].plan
    plan.max_databases = 0
    plan.save()
    with pytest.raises(ValidationError, match="plan allows 0"):
        databases.attach(world["site"])
    assert not Database.objects.exists()


def test_the_seeded_plans_have_database_quotas():
    from accounts.models import Plan  # noqa: PLC0415 (one line of one test)

    sizes = dict(Plan.objects.values_list("name", "database_mb"))
    assert sizes["starter"] < sizes["standard"] < sizes["pro"]
    assert Plan.objects.get(name="starter").max_databases >= 1


def test_ready_makes_a_config_release_with_the_variables(world, sent):
    database = databases.attach(world["site"])
    deployment = databases.database_ready(database.pk, "hosting-db-x", "10.215.0.34")
    assert deployment is not None and deployment.trigger == Deployment.Trigger.CONFIG
    release = Release.objects.filter(site=world["site"]).order_by("-version").first()
    assert decrypt_config(release.encrypted_config)["PGHOST"] == "10.215.0.34"


# --- rotation, detach ---------------------------------------------------------------------------

def test_rotation_stores_the_new_password_and_makes_a_release(world, sent, django_capture_on_commit_callbacks):
    database = _ready(databases.attach(world["site"]))
    old = decrypt(database.encrypted_password)
    with django_capture_on_commit_callbacks(execute=True):
        databases.rotate(database)
    assert sent[-1][0] == "sites.agent.rotate_database"
    new = databases.new_password()
    deployment = databases.password_set(database.pk, databases.encrypt(new))
    database.refresh_from_db()
    assert decrypt(database.encrypted_password) == new != old
    assert deployment.trigger == Deployment.Trigger.CONFIG
    assert AuditEvent.objects.filter(action="database.rotate").exists()


def test_a_database_not_ready_is_not_rotated(world, sent):
    with pytest.raises(ValidationError, match="ready"):
        databases.rotate(databases.attach(world["site"]))


def test_detach_takes_the_variables_out_of_the_next_release_and_sends_the_drop(world, sent,
                                                                                django_capture_on_commit_callbacks):
    database = _ready(databases.attach(world["site"]))
    with django_capture_on_commit_callbacks(execute=True):
        databases.detach(database)
    assert sent[-1][0] == "sites.agent.detach_database"
    assert "DATABASE_URL" not in decrypt_config(machine.current_config(world["site"]))


# --- size --------------------------------------------------------------------------------------

def test_a_database_over_its_plans_size_becomes_read_only_then_locked(world):
    plan = world["site"].plan
    plan.database_mb = 10
    assert databases.write_state_for(10 * MB, plan) == Database.Writes.WRITABLE
    assert databases.write_state_for(10 * MB + 1, plan) == Database.Writes.READ_ONLY
    assert databases.write_state_for(20 * MB + 1, plan) == Database.Writes.LOCKED


def test_the_size_check_applies_and_audits_only_changes(world, sent, monkeypatch):
    database = _ready(databases.attach(world["site"]))
    applied = []
    monkeypatch.setattr(dbadmin, "sizes", lambda host: {database.name: 10_000 * MB})
    monkeypatch.setattr(dbadmin, "set_write_state", lambda host, name, state, connections: applied.append(state))
    assert databases.check_sizes("h1") == 1
    assert databases.check_sizes("h1") == 0  # unchanged: not applied again
    assert applied == [Database.Writes.LOCKED]
    assert AuditEvent.objects.filter(action="database.locked").count() == 1
    monkeypatch.setattr(dbadmin, "sizes", lambda host: {database.name: MB})
    assert databases.check_sizes("h1") == 1 and applied[-1] == Database.Writes.WRITABLE


# --- placement: the site stays with its database -------------------------------------------------

def test_a_site_with_a_database_is_placed_on_its_databases_host_only(world, sent):
    databases.attach(world["site"])
    Host.objects.create(name="h2", cpus=64, memory_mb=256000, last_heartbeat=timezone.now())  # more room
    assert database_host(world["site"]) == "h1"
    assert place_instance(64, 100, only_on="h1").name == "h1"
    Host.objects.filter(name="h1").update(cordoned_at=timezone.now())
    with pytest.raises(NoHostAvailable, match="database lives on host h1"):
        place_instance(64, 100, only_on="h1")


# --- the server's side, without a server --------------------------------------------------------

class FakeNetworks:
    def __init__(self, networks: dict) -> None:
        self._networks = networks

    def networks(self, labels: dict) -> dict:
        return self._networks


def test_pg_hba_admits_each_role_from_its_own_subnet_only(settings):
    a, b = "site_" + "a" * 32, "site_" + "b" * 32
    engine = FakeNetworks({
        dbserver.network_name(a): {"subnet": "10.215.0.32/27", "labels": {dbserver.LABEL_DATABASE: a}},
        dbserver.network_name(b): {"subnet": "10.215.0.64/27", "labels": {dbserver.LABEL_DATABASE: b}},
        "hosting-pg-x-h1": {"subnet": "10.215.0.0/27", "labels": {}},
    })
    (settings.DATA_DIR / "databases" / "postgresql-h1").mkdir(parents=True)
    lines = [line for line in dbserver.write_hba(engine, "h1").splitlines() if not line.startswith("#")]
    assert lines == [
        "local all postgres trust",
        f"host {a} {a} 10.215.0.32/27 scram-sha-256",
        f"host {b} {b} 10.215.0.64/27 scram-sha-256",
        "host all all 0.0.0.0/0 reject",
        "host all all ::/0 reject",
    ]


def test_it_picks_a_free_subnet_and_keeps_the_servers_address_out_of_dockers_range():
    subnet = dbserver.free_subnet({"10.215.0.0/27", "10.215.0.64/26", "172.17.0.0/16"}, pool="10.215.0.0/24")
    assert subnet == "10.215.0.32/27"
    assert dbserver.server_address(subnet) == "10.215.0.34"
    assert dbserver.dynamic_range(subnet) == "10.215.0.48/28"
    with pytest.raises(Exception, match="used up"):
        dbserver.free_subnet({"10.215.0.0/24"}, pool="10.215.0.0/24")


def test_a_container_spec_joins_only_well_formed_networks(tmp_path):
    base = dict(site="shop", release="v1", instance="d1", image="x", command=("true",),
                limits=ResourceLimits(64, 100, 32), slug_dir=tmp_path, data_dir=None, host_port=None)
    assert ContainerSpec(**base, extra_networks=("hosting-db-site-abc",)).extra_networks == ("hosting-db-site-abc",)
    with pytest.raises(ValueError):
        ContainerSpec(**base, extra_networks=("host",  "bad name"))


# --- the API ------------------------------------------------------------------------------------

def test_the_api_attaches_shows_and_reveals_with_an_audit(world, sent):
    owner = world["client"]("owner")
    assert owner.post("/api/v1/sites/shop/databases/", {}, format="json").status_code == 400  # engine required
    response = owner.post("/api/v1/sites/shop/databases/", {"engine": "postgresql"}, format="json")
    assert response.status_code == 202 and response.json()["state"] == "creating"
    assert owner.get("/api/v1/sites/shop/databases/postgresql/credentials/").status_code == 400  # not ready yet
    database = _ready(Database.objects.get())
    shown = owner.get("/api/v1/sites/shop/databases/postgresql/").json()
    assert shown["name"] == database.name and "password" not in str(shown) and shown["limit_mb"] > 0
    revealed = owner.get("/api/v1/sites/shop/databases/postgresql/credentials/").json()
    assert revealed["url"] == env_of(database)["DATABASE_URL"]
    assert AuditEvent.objects.filter(action="database.reveal", target=database.name).exists()


def test_another_organization_gets_404_for_the_database_even_by_name(world, sent):
    database = _ready(databases.attach(world["site"]))
    outsider = world["client"]("outsider")
    for url in ("/api/v1/sites/shop/databases/", "/api/v1/sites/shop/databases/postgresql/",
                "/api/v1/sites/shop/databases/postgresql/credentials/"):
        assert outsider.get(url).status_code == 404
    assert outsider.delete("/api/v1/sites/shop/databases/postgresql/").status_code == 404
    # Its own site has no database of that engine: 404 too, never another site's.
    assert outsider.get("/api/v1/sites/gshop/databases/postgresql/").status_code == 404
    database.refresh_from_db()
    assert database.state == Database.State.READY


# --- the portal ---------------------------------------------------------------------------------

def test_the_environment_tab_attaches_and_shows_the_database(world, sent):
    from tests.unit.portal_client import signed_in  # noqa: PLC0415 (the portal's client, for these two tests)

    owner = signed_in("owner")
    assert "Attach a PostgreSQL database" in owner.get("/sites/shop/env/").content.decode()
    assert owner.post("/sites/shop/databases/", {"engine": "postgresql"}).status_code == 302
    database = _ready(Database.objects.get(site=world["site"]))
    page = owner.get("/sites/shop/env/").content.decode()
    assert database.name in page and "New password" in page and decrypt(database.encrypted_password) not in page
    assert "Attach a PostgreSQL database" not in signed_in("viewer").get("/sites/shop/env/").content.decode()


def test_the_portal_refuses_a_viewer_and_hides_the_database_from_another_organization(world, sent):
    from tests.unit.portal_client import signed_in  # noqa: PLC0415

    _ready(databases.attach(world["site"]))
    assert signed_in("viewer").post("/sites/shop/databases/postgresql/rotate/").status_code == 403
    assert signed_in("developer").post("/sites/shop/databases/postgresql/detach/").status_code == 403
    assert signed_in("outsider").post("/sites/shop/databases/postgresql/detach/").status_code == 404
    assert Database.objects.get().state == Database.State.READY


def test_a_container_on_a_database_network_too_is_reached_on_its_site_network():
    from types import SimpleNamespace  # noqa: PLC0415

    from hosting.engine import _state_of  # noqa: PLC0415 (the engine's reading of Docker's inspect)

    container = SimpleNamespace(name="site-shop-v2-d9", id="abc", labels={}, attrs={
        "State": {"Status": "running", "Running": True},
        "HostConfig": {"NetworkMode": "hosting-sites", "PortBindings": {}},
        "NetworkSettings": {"Networks": {  # Docker lists them by name: the database network first
            "hosting-db-site-0123": {"IPAddress": "10.215.0.50"},
            "hosting-sites": {"IPAddress": "10.213.0.7"},
        }},
    })
    assert _state_of(container).address == "10.213.0.7"


def test_a_config_release_of_a_site_with_a_database_goes_to_its_databases_host(world, sent):
    database = databases.attach(world["site"])
    Host.objects.create(name="h2", cpus=64, memory_mb=256000, last_heartbeat=timezone.now())  # more room
    deployment = databases.database_ready(database.pk, "hosting-db-x", "10.215.0.34")
    assert deployment.host_name == "h1"


# --- MariaDB ------------------------------------------------------------------------------------

def test_a_mariadb_database_gets_mysql_variables_and_postgresqls_url_wins(world, sent):
    from hosting import dbadmin_mariadb  # noqa: PLC0415 (MariaDB's tests only)

    maria = _ready(databases.attach(world["site"], "mariadb"), address="10.215.0.66")
    env = env_of(maria)
    assert env["DATABASE_URL"].startswith(f"mysql://{maria.name}:") and env["DATABASE_URL"].endswith(
        f"@10.215.0.66:3306/{maria.name}")
    assert env["MYSQL_HOST"] == "10.215.0.66" and env["MYSQL_USER"] == env["MYSQL_DATABASE"] == maria.name
    assert database_env(world["site"])["DATABASE_URL"].startswith("mysql://")
    Plan = type(world["site"].plan)
    Plan.objects.filter(pk=world["site"].plan_id).update(max_databases=2)
    world["site"].organization.plan.refresh_from_db()
    _ready(databases.attach(world["site"], "postgresql"))
    both = database_env(world["site"])
    assert both["DATABASE_URL"].startswith("postgresql://") and both["MARIADB_URL"] == env["DATABASE_URL"]
    # Its account exists for its own network's subnet only.
    assert dbadmin_mariadb.account(maria.name, "10.215.0.64/27") == f"'{maria.name}'@'10.215.0.64/255.255.255.224'"
    assert dbserver.network_name(maria.name, dbserver.MARIADB) != dbserver.network_name(maria.name)


def test_a_sites_second_database_goes_to_the_host_of_its_first(world, sent):
    world["site"].organization.plan.max_databases = 2
    databases.attach(world["site"], "postgresql")
    Host.objects.create(name="h2", cpus=64, memory_mb=256000, last_heartbeat=timezone.now())  # more room
    assert databases.attach(world["site"], "mariadb").host_name == "h1"
