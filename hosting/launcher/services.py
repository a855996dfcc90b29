"""The supporting services the launcher starts when none is given: dockerd, Redis, PostgreSQL."""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from hosting.launcher import Abort, say
from hosting.launcher.permissions import Account, as_user
from hosting.launcher.processes import ManagedProcess, free_tcp_port, tcp_port_open


def docker_answers() -> bool:
    import docker

    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def start_dockerd_if_needed(log_dir: Path) -> ManagedProcess | None:
    """Start dockerd when no daemon answers at DOCKER_HOST (or the default socket)."""
    if docker_answers():
        return None
    if os.environ.get("DOCKER_HOST"):
        raise Abort(f"No Docker daemon answers at DOCKER_HOST={os.environ['DOCKER_HOST']}.")
    if shutil.which("dockerd") is None:
        raise Abort("Docker is not installed (no dockerd); run `make run` to install docker.io.")
    say("Starting the Docker daemon")
    dockerd = ManagedProcess("dockerd", ["dockerd"], log_dir / "dockerd.log")
    dockerd.wait_until(docker_answers, timeout=60, what="waiting for the Docker API")
    return dockerd


def redis_answers(socket_path: Path) -> bool:
    from hosting.redis_client import redis_client

    client = redis_client(f"redis+socket://{socket_path}", timeout=0.5)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def redis_command(socket_path: Path, data_dir: Path, persistent: bool) -> list[str]:
    """redis-server on a unix socket only (mode 0700, no TCP port), keeping its data in `data_dir`
    in an append-only file when `persistent`; also the managed Redis's systemd unit (launcher.systemd)."""
    return [
        "redis-server", "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(data_dir), "--save", "", "--appendonly", "yes" if persistent else "no",
    ]


def start_redis(socket_path: Path, data_dir: Path, log_dir: Path, persistent: bool,
                account: Account | None = None) -> ManagedProcess:
    """A Redis reachable only through a unix socket (mode 0700, no TCP port).

    With `account` it runs as that user (the platform user): the socket is then its own, so the
    platform's unprivileged processes connect and other local users cannot (root always can).
    `data_dir` and the socket's directory must then be that user's.
    """
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if redis_answers(socket_path):
        raise Abort(f"A Redis already answers on {socket_path}: is another `make run` using this data directory?")
    socket_path.unlink(missing_ok=True)
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


def start_throwaway_postgres(work_dir: Path, log_dir: Path) -> tuple[ManagedProcess, str]:
    """initdb in `work_dir` and run it on a free loopback port; returns the process and its URL.

    PostgreSQL refuses to run as root, so it runs as the `postgres` system user. It asks for a
    password (made here, in the URL): the platform's processes run as two users, and the machine's
    other local users must not reach the database through the loopback port.
    """
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise Abort("There is no `postgres` system user to run the test database as; install postgresql.") from None
    data = work_dir / "pgdata"
    data.mkdir(parents=True)
    os.chown(work_dir, account.pw_uid, account.pw_gid)
    os.chown(data, account.pw_uid, account.pw_gid)
    os.chmod(work_dir, 0o700)
    as_postgres = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "cwd": str(work_dir)}
    password = secrets.token_urlsafe(24)
    password_file = work_dir / "password"
    password_file.write_text(password + "\n")
    os.chown(password_file, account.pw_uid, account.pw_gid)
    password_file.chmod(0o600)
    initdb = ManagedProcess(
        "initdb",
        [_postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth-local=peer",
         "--auth-host=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8", "--no-sync"],
        log_dir / "initdb.log", **as_postgres,
    )
    if initdb.popen.wait(120) != 0:
        raise Abort(f"initdb failed: {initdb.last_log_lines()}")
    initdb.stop()
    port = free_tcp_port()
    postgres = ManagedProcess(
        "postgres",
        [_postgres_bin("postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(work_dir),
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"],
        log_dir / "postgres.log",
        stop_signal=signal.SIGINT,  # fast shutdown: end sessions now
        **as_postgres,
    )
    postgres.wait_until(lambda: tcp_port_open("127.0.0.1", port), timeout=60, what="waiting for its port")

    created = subprocess.run([_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "hosting"],
                             capture_output=True, text=True, timeout=60, env={**os.environ, "PGPASSWORD": password})
    password_file.unlink()
    if created.returncode != 0:
        postgres.stop()
        raise Abort(f"createdb failed: {created.stderr.strip()}")
    return postgres, f"postgres://postgres:{password}@127.0.0.1:{port}/hosting"


def unmount_everything_under(directory: Path) -> None:
    """Unmount leftover mounts (site volumes of a test that crashed) before deleting `directory`."""

    prefix = str(directory.resolve()) + "/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
