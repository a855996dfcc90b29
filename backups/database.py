"""The database in a backup: a logical dump through Django's serializers, so a backup of SQLite
restores into PostgreSQL and the other way round, taken in one read transaction so that it is one
moment of the platform (a site and its releases, a release and its slug, agree)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from accounts.models import Organization
from sites.models import Site

# Recreated by `migrate` on the restored side (post_migrate); sessions are logins, which end.
NOT_DUMPED = ["contenttypes", "auth.permission", "sessions"]


@contextmanager
def one_moment() -> Iterator[None]:
    """A transaction in which every read sees the same snapshot. PostgreSQL's default (READ
    COMMITTED) takes a new snapshot per statement, so ask for REPEATABLE READ before the first
    query; SQLite's WAL readers see one snapshot from their first read to the end of the transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def dump_database(path: Path) -> None:
    """Write every row (but NOT_DUMPED) as JSON; call inside `one_moment`. Foreign keys to users,
    content types and permissions are written by natural key, which the restored side resolves
    against what its own `migrate` created."""
    call_command("dumpdata", exclude=NOT_DUMPED, natural_foreign=True, output=str(path), verbosity=0)


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def unknown_migrations(applied: dict[str, list[str]]) -> list[str]:
    """Migrations a backup's database had that this code does not know: it was made by a newer
    platform, and its rows may have fields this one cannot load."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, names in applied.items() for name in names if (app, name) not in known]


def database_has_platform_data() -> bool:
    """Whether the database holds organizations or sites (an empty or never migrated one does not)."""
    tables = set(connection.introspection.table_names())
    return any(model._meta.db_table in tables and model.objects.exists() for model in (Organization, Site))


def load_database(path: Path) -> None:
    """Migrate, empty (what migrations seeded would collide with the dump's rows), then load the
    dump. loaddata saves with raw=True, so no signal handler acts on the rows, checks the foreign
    keys at the end, and moves PostgreSQL's sequences past the loaded ids, so the next row made
    after the restore gets a fresh id."""
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # post_migrate makes content types again
    Group.objects.all().delete()  # and staff roles' groups, which the dump holds with its own ids
    call_command("loaddata", str(path), verbosity=0)
    # An older backup's groups lack newer permissions: post_migrate's handlers complete them.
    emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)
