"""What a site's containers get from its databases: the variables of its next release and the
networks its containers join. Pure functions of the Database rows (no queue, no Docker)."""
from __future__ import annotations

from urllib.parse import quote

from sites.config_crypto import decrypt
from sites.database_models import Database

PORTS = {"postgresql": 5432, "mariadb": 3306}
SCHEMES = {"postgresql": "postgresql", "mariadb": "mysql"}


def database_name(site) -> str:
    """The database's and its role's name: from the site's uuid, never from anything typed."""
    return database_name_for(site.uuid.hex)


def database_name_for(site_uuid_hex: str) -> str:
    return f"site_{site_uuid_hex}"


def url_of(database: Database, password: str) -> str:
    return (f"{SCHEMES[database.engine]}://{database.name}:{quote(password, safe='')}@{database.server_address}:"
            f"{PORTS[database.engine]}/{database.name}")


def env_of(database: Database) -> dict[str, str]:
    """DATABASE_URL and libpq's PG* (PostgreSQL) or the MYSQL_* variables (MariaDB) of a ready database."""
    password = decrypt(database.encrypted_password)
    port, host = str(PORTS[database.engine]), str(database.server_address)
    if database.engine == Database.Engine.MARIADB:
        return {"DATABASE_URL": url_of(database, password), "MYSQL_HOST": host, "MYSQL_PORT": port,
                "MYSQL_DATABASE": database.name, "MYSQL_USER": database.name, "MYSQL_PASSWORD": password}
    return {"DATABASE_URL": url_of(database, password), "PGHOST": host, "PGPORT": port,
            "PGDATABASE": database.name, "PGUSER": database.name, "PGPASSWORD": password}


def database_env(site) -> dict[str, str]:
    """The variables of the site's ready databases (they win over env vars of the same name: the
    platform owns them, as Heroku's add-ons own theirs). With both engines, DATABASE_URL is
    PostgreSQL's (set last) and MariaDB's is also MARIADB_URL."""
    env: dict[str, str] = {}
    for database in Database.objects.filter(site=site, state=Database.State.READY).order_by("engine"):
        values = env_of(database)
        if database.engine == Database.Engine.MARIADB:
            env["MARIADB_URL"] = values["DATABASE_URL"]
        env.update(values)
    return env


def database_networks(site, host_name: str) -> tuple[str, ...]:
    """The private networks of the site's ready databases on `host_name`: what its containers there join."""
    return tuple(Database.objects.filter(site=site, state=Database.State.READY, host_name=host_name)
                 .exclude(network="").values_list("network", flat=True))


def database_host(site) -> str | None:
    """The host a site with a database must run on (its database lives on that host's server)."""
    return (Database.objects.filter(site=site).exclude(state=Database.State.DELETING)
            .values_list("host_name", flat=True).first())
