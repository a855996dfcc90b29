"""What a site's containers get from its databases: the variables of its next release and the
networks its containers join. Pure functions of the Database rows (no queue, no Docker)."""
from __future__ import annotations

from urllib.parse import quote

from sites.config_crypto import decrypt
from sites.database_models import Database

PORT = 5432


def database_name(site) -> str:
    """The database's and its role's name: from the site's uuid, never from anything typed."""
    return database_name_for(site.uuid.hex)


def database_name_for(site_uuid_hex: str) -> str:
    return f"site_{site_uuid_hex}"


def url_of(database: Database, password: str) -> str:
    return (f"postgresql://{database.name}:{quote(password, safe='')}@{database.server_address}:{PORT}"
            f"/{database.name}")


def env_of(database: Database) -> dict[str, str]:
    """DATABASE_URL and libpq's PG* variables for a ready database."""
    password = decrypt(database.encrypted_password)
    return {
        "DATABASE_URL": url_of(database, password),
        "PGHOST": str(database.server_address), "PGPORT": str(PORT), "PGDATABASE": database.name,
        "PGUSER": database.name, "PGPASSWORD": password,
    }


def database_env(site) -> dict[str, str]:
    """The variables of the site's ready databases (they win over env vars of the same name: the
    platform owns them, as Heroku's add-ons own theirs)."""
    env: dict[str, str] = {}
    for database in Database.objects.filter(site=site, state=Database.State.READY):
        env.update(env_of(database))
    return env


def database_networks(site, host_name: str) -> tuple[str, ...]:
    """The private networks of the site's ready databases on `host_name`: what its containers there join."""
    return tuple(Database.objects.filter(site=site, state=Database.State.READY, host_name=host_name)
                 .exclude(network="").values_list("network", flat=True))


def database_host(site) -> str | None:
    """The host a site with a database must run on (its database lives on that host's server)."""
    return (Database.objects.filter(site=site).exclude(state=Database.State.DELETING)
            .values_list("host_name", flat=True).first())
