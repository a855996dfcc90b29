"""Who may read the platform's state under DATA_DIR: its owners and modes, and the platform's
system user. Used by the launcher (make run, make test, upgrades) and by backups' restore.

The web server, the control worker and beat run as the unprivileged platform user (PLATFORM_USER,
created by scripts/install.sh); a bug in them, or a tenant who gets code running in them, is not
root on the host. They own what they write (the database, secrets, repositories, uploads). What
root writes (slugs, builds, caches, volumes, the edge, certificates) stays root's. Other local
users read nothing: the data directory lets them pass (nginx's workers run as www-data and reach
their temp files and certificates through it) but not list, and every directory in it is closed.
"""
from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from core.commands import run
from core.errors import OperatorError

PLATFORM, ROOT = "platform", "root"

# Every entry of DATA_DIR: its owner, its mode, and whether the owner is given to everything inside
# (what root made before the platform user existed, or before it started: migrate, collectstatic,
# the staff login, secrets). Root's own trees are never walked: they hold tenant content.
LAYOUT: dict[str, tuple[str, int, bool]] = {
    "secrets": (PLATFORM, 0o700, True),
    "git": (PLATFORM, 0o700, True),       # written by git http-backend in the web server
    "archives": (PLATFORM, 0o700, True),  # uploads and `git archive`s by the web server, read by the agent
    "static": (PLATFORM, 0o700, True),
    "support": (PLATFORM, 0o700, True),   # support tickets' attachments, written by the web server
    "run": (PLATFORM, 0o700, True),       # the managed Redis's socket
    "redis": (PLATFORM, 0o700, True),     # the managed Redis runs as the platform user
    "log": (ROOT, 0o700, False),
    "supervisor": (ROOT, 0o700, False),   # `make run`'s supervisord: its config and control socket
    # The agent writes slugs, the web server serves them to other hosts and receives what they
    # built (/internal/v1, sites/internal.py); every use checks the sha256 (the owner is not walked).
    "slugs": (PLATFORM, 0o700, False),
    # Sites' /data backups: the agent writes them, the web server lets the organization download
    # them (sites/data_backups.py); tenant content, so never walked.
    "site-backups": (PLATFORM, 0o700, False),
    "builds": (ROOT, 0o700, False),
    "cache": (ROOT, 0o700, False),
    "volumes": (ROOT, 0o700, False),
    "build": (ROOT, 0o700, False),        # image builds
    "letsencrypt": (ROOT, 0o700, False),  # certbot's accounts and keys
    "certs": (ROOT, 0o711, False),        # each certificate's directory is root:www-data 0750
    "edge": (ROOT, 0o711, False),         # proxy.edge sets its own inside modes
    "acme-webroot": (ROOT, 0o755, False),  # challenge tokens, served to the ACME server by nginx's workers
    "databases": (ROOT, 0o700, False),    # each host's PostgreSQL data (its own uid inside), by the agent
    "backups": (ROOT, 0o700, False),      # every secret of the platform; written by root (backups.tasks)
}
# Files directly in DATA_DIR that the platform user writes, by the start of their names: the SQLite
# database with its -wal, -shm and -journal, and beat's schedule (whose suffixes depend on dbm).
PLATFORM_FILES = ("db.sqlite3", "celerybeat-schedule")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str


def platform_account(name: str) -> Account:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise OperatorError(f"There is no system user {name!r} to run the platform as; run `make run` (scripts/install.sh) "
                    f"to create it, or set PLATFORM_USER.") from None
    if entry.pw_uid == 0:
        raise OperatorError(f"PLATFORM_USER={name} is root; the platform user must be unprivileged.")
    return Account(name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def secure_data_dir(data_dir: Path, account: Account) -> None:
    """Create DATA_DIR's directories with their owners and modes, and fix what an earlier run or
    a root process left (idempotent; run as root before the platform's processes start).

    The platform user may rename things inside DATA_DIR while this runs, so nothing here follows a
    symbolic link: entries are opened with O_NOFOLLOW and trees walked by file descriptor.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    _check_reachable(data_dir, account)
    _own(data_dir, account, PLATFORM, 0o711)
    for name, (owner, mode, recursive) in LAYOUT.items():
        path = data_dir / name
        try:
            path.mkdir()
        except FileExistsError:
            pass
        _own(path, account, owner, mode)
        if recursive:
            _give_tree(path, account)
    for entry in os.scandir(data_dir):
        if entry.name.startswith(PLATFORM_FILES):
            _own(Path(entry.path), account, PLATFORM, 0o600)


def _check_reachable(data_dir: Path, account: Account) -> None:
    """The platform user must pass through every directory above DATA_DIR (asked of the system as
    that user, so ACLs count, as scripts/install.sh grants them)."""
    def passes(directory: Path) -> bool:
        result = run(as_user(account, ["test", "-x", str(directory)]), doing="checking the data directory's path",
                     timeout=30, check=False)
        return result.returncode == 0

    if passes(data_dir.resolve().parent):
        return
    closed = next(parent for parent in reversed(data_dir.resolve().parents) if not passes(parent))
    raise OperatorError(f"The platform user {account.name} cannot reach DATA_DIR={data_dir}: it may not pass through "
                f"{closed}; choose a data directory it can reach, or let it pass (setfacl -m u:{account.name}:x {closed}).")


def _own(path: Path, account: Account, owner: str, mode: int) -> None:
    uid, gid = (account.uid, account.gid) if owner == PLATFORM else (0, 0)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise OperatorError(f"{path} must be a plain file or directory of the platform's, not a link ({exc.strerror}).") from None
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _give_tree(top: Path, account: Account) -> None:
    """Everything below `top` to the platform user. fwalk holds each directory open and never
    follows a link, so a link swapped in meanwhile cannot lead the chown outside. Modes inside stay
    as they are: `top` itself (0700) is what keeps others out."""
    for _, subdirectories, files, directory_fd in os.fwalk(top, follow_symlinks=False):
        for name in subdirectories + files:
            os.chown(name, account.uid, account.gid, dir_fd=directory_fd, follow_symlinks=False)


def relay_dir(data_dir: Path) -> Path:
    """Where the agent's read-only relay of site logs listens for the web server (hosting.log_relay).
    Here, not there: the launcher sets the web server's DOCKER_HOST to it before Django is loaded."""
    return data_dir / "docker-logs"


def relay_socket(data_dir: Path) -> Path:
    return relay_dir(data_dir) / "docker.sock"


def as_user(account: Account, command: list[str]) -> list[str]:
    """`command` run as `account` with its own groups only (setpriv execs: no session, no PAM)."""
    return ["setpriv", f"--reuid={account.uid}", f"--regid={account.gid}", "--init-groups", "--", *command]
