"""Attack: a local user of the host reads the platform's state (secrets, database, repositories),
and a bug in the web server or control worker is root.

The web server, the control worker and beat run as the unprivileged platform user; only the agent,
the edge's master and the edge's worker keep root. The platform's state under DATA_DIR is the
platform's alone: another local user (nobody) reads none of it.
"""
from __future__ import annotations

import os
import pwd
import sqlite3
import sys
import shutil
import uuid
from pathlib import Path

import pytest

from core.data_dir import platform_account, secure_data_dir
from tests.security.local_user import NOBODY, POSTGRES_WITHOUT_PASSWORD, READ_EACH, UNIX_HTTP, run_as

pytestmark = pytest.mark.django_db(transaction=True)


def ids(pid: int) -> tuple[list[int], list[int]]:
    """Real, effective, saved and filesystem uids and gids of a process."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    field = {line.split(":")[0]: line.split(":")[1].split() for line in status if ":" in line}
    return [int(v) for v in field["Uid"]], [int(v) for v in field["Gid"]]


def family(pid: int) -> list[int]:
    """`pid` and all its descendants (gunicorn's and Celery's worker processes)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            queue.extend(int(child) for child in children)
    return found


def test_it_runs_web_and_workers_as_the_platform_user_and_only_agent_and_edge_as_root(platform):
    from django.conf import settings

    account = platform_account(settings.PLATFORM_USER)
    for name in ("web", "worker", "beat"):
        processes = family(platform.processes[name].pid)
        assert len(processes) > 1 or name == "beat", f"{name} started no workers: {processes}"
        for pid in processes:
            assert ids(pid) == ([account.uid] * 4, [account.gid] * 4), f"{name} process {pid}"
            groups = Path(f"/proc/{pid}/status").read_text().split("Groups:")[1].splitlines()[0].split()
            assert groups in ([], [str(account.gid)]), f"{name} process {pid} has extra groups {groups}"
    for name in ("agent", "edge", "edge_worker"):
        assert ids(platform.processes[name].pid) == ([0] * 4, [0] * 4), name
    # The edge's master is root; its workers serve the internet as www-data.
    edge_workers = family(platform.processes["edge"].pid)[1:]
    assert edge_workers and all(ids(pid)[0][0] == pwd.getpwnam(settings.PROXY_WORKER_USER).pw_uid for pid in edge_workers)


def test_it_lets_no_other_local_user_read_the_platforms_state(deploy_env):
    from django.conf import settings

    from sites.models import Site
    from tests.integration.support.deploying import create_site

    platform = deploy_env[0]
    site = create_site(deploy_env, "private")
    repository = Path(settings.GIT_ROOT) / f"{Site.objects.get(name=site).uuid.hex}.git"
    data = Path(settings.DATA_DIR)
    account = platform_account(settings.PLATFORM_USER)
    assert repository.stat().st_uid == account.uid, "the web server made the repository as the platform user"

    targets = [data, data / "secrets", data / "secrets" / "secret_key", data / "secrets" / "fernet_key",
               settings.GIT_ROOT, repository / "HEAD", repository / "config", settings.ARCHIVES_DIR,
               settings.SLUGS_DIR, settings.VOLUMES_DIR, data / "edge" / "routes.txt",
               data / "edge" / "nginx.conf", data / "edge" / "logs", data / "letsencrypt", data / "certs"]
    targets = [str(path) for path in targets if os.path.lexists(path)]
    assert len(targets) >= 12, targets
    attempts = run_as(*NOBODY, READ_EACH, *targets)
    assert attempts == {path: "PermissionError" for path in targets}

    # The broker: Redis listens on a unix socket of the platform user's, not on a port.
    redis_socket = settings.REDIS_URL.removeprefix("redis+socket://").split("?")[0]
    assert run_as(*NOBODY, UNIX_HTTP, redis_socket, "GET", "/", "")["connected"] is False

    # The database (PostgreSQL here) asks for the password that only the platform's processes have.
    database = settings.DATABASES["default"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    answer = run_as(*NOBODY, POSTGRES_WITHOUT_PASSWORD, url, python=sys.executable)
    assert answer["connected"] is False and "password" in answer["error"], answer

    # The platform user itself reads them (that is who the web server is).
    own = run_as(settings.PLATFORM_USER, settings.PLATFORM_USER, READ_EACH,
                 str(data / "secrets" / "secret_key"), str(repository / "HEAD"))
    assert set(own.values()) == {"read"}
    assert platform.output("web")  # and it served the site's creation above


def test_it_gives_a_sqlite_data_dir_to_the_platform_user_alone():
    """`make run`'s SQLite database and its secrets, made by root before the processes start (as the
    launcher does), end up the platform user's, 0600: it reads and writes them, nobody else can."""
    from django.conf import settings

    from core.env import generate_secret_key, secret_from_env_or_file

    account = platform_account(settings.PLATFORM_USER)
    # Beside the test run's own data directory, which other users may pass through (0711) as /tmp.
    data = Path(settings.DATA_DIR).parent / f"var-{uuid.uuid4().hex[:6]}"
    data.mkdir()
    secret = secret_from_env_or_file("NO_SUCH_SECRET", data / "secrets" / "secret_key", generate_secret_key)
    with sqlite3.connect(data / "db.sqlite3") as db:  # as migrate does, as root
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE customers (email TEXT)")
        db.execute("INSERT INTO customers VALUES ('private@example.com')")
    (data / "git" / "old.git").mkdir(parents=True)  # a repository an earlier run made as root
    (data / "git" / "old.git" / "HEAD").write_text("ref: refs/heads/main\n")

    secure_data_dir(data, account)
    # Run twice: the second finds nothing to change.
    secure_data_dir(data, account)

    files = [data / "db.sqlite3", data / "secrets" / "secret_key", data / "git" / "old.git" / "HEAD"]
    for path in files:
        info = path.stat()
        assert info.st_uid == account.uid, path
    for path in files[:2]:
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert run_as(*NOBODY, READ_EACH, *map(str, files)) == {str(path): "PermissionError" for path in files}
    assert run_as(*NOBODY, READ_EACH, str(data)) == {str(data): "PermissionError"}

    # The platform user reads the secret and writes the database (WAL files included).
    write = f"""
        import json, sqlite3
        db = sqlite3.connect({str(data / 'db.sqlite3')!r})
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("INSERT INTO customers VALUES ('second@example.com')")
        db.commit()
        print(json.dumps({{"rows": db.execute("SELECT count(*) FROM customers").fetchone()[0],
                          "secret": open({str(data / 'secrets' / 'secret_key')!r}).read().strip()}}))
    """
    assert run_as(account.name, account.name, write) == {"rows": 2, "secret": secret}
    # A secret that a root process makes in the platform's directory is the platform user's at once.
    fernet = secret_from_env_or_file("NO_SUCH_SECRET", data / "secrets" / "fernet_key", generate_secret_key)
    assert (data / "secrets" / "fernet_key").stat().st_uid == account.uid
    assert run_as(account.name, account.name, READ_EACH, str(data / "secrets" / "fernet_key")) == {
        str(data / "secrets" / "fernet_key"): "read"}
    assert fernet != secret
    shutil.rmtree(data)


def test_it_follows_no_link_the_platform_user_left_in_its_data_dir(tmp_path):
    """The launcher gives DATA_DIR's trees to the platform user as root; a link planted in them (the
    platform user owns them) must not carry that chown, or a chmod, to a host file."""
    from django.conf import settings

    from launcher import Abort
    from tests.security.sentinels import Sentinels

    account = platform_account(settings.PLATFORM_USER)
    sentinels = Sentinels(tmp_path / "host")
    data = Path(settings.DATA_DIR).parent / f"var-{uuid.uuid4().hex[:6]}"
    (data / "git" / "site.git").mkdir(parents=True)
    (data / "git" / "site.git" / "config").symlink_to(sentinels.secret)
    (data / "git" / "folder").symlink_to(sentinels.folder)
    (data / "db.sqlite3").symlink_to(sentinels.secret)
    try:
        with pytest.raises(Abort, match="not a link"):
            secure_data_dir(data, account)
        (data / "db.sqlite3").unlink()
        secure_data_dir(data, account)
        (data / "archives").rmdir()
        (data / "archives").symlink_to(sentinels.folder, target_is_directory=True)
        with pytest.raises(Abort, match="not a link"):
            secure_data_dir(data, account)
    finally:
        sentinels.assert_untouched()
        shutil.rmtree(data)
    assert (data / "git").exists() is False
