"""The supporting services the launcher starts when none is given: dockerd, Redis, PostgreSQL."""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker

from core.data_dir import Account, as_user
from core.redis_client import redis_client
from launcher import Abort
from launcher.processes import ManagedProcess, free_tcp_port, tcp_port_open


def docker_answers() -> bool:
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


# live-restore: site containers keep running while the daemon restarts or is upgraded.
DOCKERD_COMMAND = ["dockerd", "--live-restore"]


def dockerd_needed() -> bool:
    """Whether the launcher must start dockerd: True when no daemon answers at the default socket."""
    if docker_answers():
        return False
    if os.environ.get("DOCKER_HOST"):
        raise Abort(f"No Docker daemon answers at DOCKER_HOST={os.environ['DOCKER_HOST']}.")
    if shutil.which("dockerd") is None:
        raise Abort("Docker is not installed (no dockerd); run `make run` to install docker.io.")
    return True


def redis_answers(socket_path: Path) -> bool:
    client = redis_client(f"redis+socket://{socket_path}", timeout=0.5)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def redis_command(socket_path: Path, data_dir: Path, persistent: bool) -> list[str]:
    """A Redis reachable only through a unix socket (mode 0700, no TCP port). Persistent: every
    write goes to its append-only file, so queued tasks survive a restart (fsync once a second).
    `make run`, the tests and the systemd unit hosting-redis.service (launcher.systemd) all run it."""
    return [
        "redis-server", "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(data_dir), "--save", "", "--appendonly", "yes" if persistent else "no",
    ]


def prepare_redis(socket_path: Path, data_dir: Path) -> None:
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if redis_answers(socket_path):
        raise Abort(f"A Redis already answers on {socket_path}: is another `make run` using this data directory?")
    socket_path.unlink(missing_ok=True)


def start_redis(socket_path: Path, data_dir: Path, log_dir: Path, persistent: bool,
                account: Account | None = None) -> ManagedProcess:
    """A Redis of its own for one test (redis_command), not supervised.

    With `account` it runs as that user (the platform user): the socket is then its own, so the
    platform's unprivileged processes connect and other local users cannot (root always can).
    `data_dir` and the socket's directory must then be that user's.
    """
    prepare_redis(socket_path, data_dir)
    command = redis_command(socket_path, data_dir, persistent)
    redis = ManagedProcess("redis", as_user(account, command) if account else command, log_dir / "redis.log")
    redis.wait_until(lambda: redis_answers(socket_path), timeout=20, what="waiting for PING")
    return redis


def _postgres_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise Abort(f"PostgreSQL's {name} is not installed; run `make test` to install the postgresql package.")
    return candidates[-1]


@dataclass(frozen=True)
class ThrowawayPostgres:
    """A PostgreSQL cluster made by `init` in a directory of its own, served on a free loopback port.

    PostgreSQL refuses to run as root, so it runs as the `postgres` system user. It asks for a
    password (made here, in the URL): the platform's processes run as two users, and the machine's
    other local users must not reach the database through the loopback port.
    """

    work_dir: Path
    account: Account
    port: int
    password: str

    @classmethod
    def init(cls, work_dir: Path, log_dir: Path) -> "ThrowawayPostgres":
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise Abort("There is no `postgres` system user to run the test database as; install postgresql.") from None
        account = Account("postgres", entry.pw_uid, entry.pw_gid, str(work_dir))
        server = cls(work_dir, account, free_tcp_port(), secrets.token_urlsafe(24))
        data = work_dir / "pgdata"
        data.mkdir(parents=True)
        for path in (work_dir, data):
            os.chown(path, account.uid, account.gid)
        os.chmod(work_dir, 0o700)
        password_file = work_dir / "password"
        password_file.write_text(server.password + "\n")
        os.chown(password_file, account.uid, account.gid)
        password_file.chmod(0o600)
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "initdb.log", "ab") as log:
            initdb = subprocess.run(
                as_user(account, [_postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth-local=peer",
                                  "--auth-host=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8", "--no-sync"]),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=work_dir, timeout=120)
        password_file.unlink()
        if initdb.returncode != 0:
            raise Abort(f"initdb failed; see {log_dir / 'initdb.log'}.")
        return server

    @property
    def command(self) -> list[str]:
        """The server, as the postgres user, tuned for tests (nothing is fsynced)."""
        return as_user(self.account, [
            _postgres_bin("postgres"), "-D", str(self.work_dir / "pgdata"), "-p", str(self.port), "-h", "127.0.0.1",
            "-k", str(self.work_dir), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200"])

    def answers(self) -> bool:
        return tcp_port_open("127.0.0.1", self.port)

    def create_database(self, name: str = "hosting") -> str:
        """Create database `name` on the running server; returns its URL."""
        created = subprocess.run(
            [_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PGPASSWORD": self.password})
        if created.returncode != 0:
            raise Abort(f"createdb failed: {created.stderr.strip()}")
        return f"postgres://postgres:{self.password}@127.0.0.1:{self.port}/{name}"


def start_throwaway_postgres(work_dir: Path, log_dir: Path) -> tuple[ManagedProcess, str]:
    """A PostgreSQL of its own for one test, not supervised; returns the process and its URL."""
    server = ThrowawayPostgres.init(work_dir, log_dir)
    postgres = ManagedProcess("postgres", server.command, log_dir / "postgres.log",
                              stop_signal=signal.SIGINT, cwd=str(work_dir))  # SIGINT: fast shutdown
    try:
        postgres.wait_until(server.answers, timeout=60, what="waiting for its port")
        return postgres, server.create_database()
    except Exception:
        postgres.stop()
        raise


def unmount_everything_under(directory: Path) -> None:
    """Unmount leftover mounts (site volumes of a test that crashed) before deleting `directory`."""

    prefix = str(directory.resolve()) + "/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
