"""Site repositories: bare repos at GIT_ROOT/<site uuid>.git, served by git's own http-backend.

The path of a repository comes from the database (the site's uuid), never from the URL's text.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from core.errors import PlatformError

HOOKS_DIR = Path(__file__).resolve().parent / "git_hooks"


def repository_path(site_uuid_hex: str) -> Path:
    return Path(settings.GIT_ROOT) / f"{site_uuid_hex}.git"


def create_repository(site) -> Path:
    path = repository_path(site.uuid.hex)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise PlatformError(f"Could not create the git repository of {site.name}: {result.stderr.strip()}")
    return path


def remove_repository(site_uuid_hex: str) -> None:
    shutil.rmtree(repository_path(site_uuid_hex), ignore_errors=True)


def git_config_env(entries: dict[str, str]) -> dict[str, str]:
    """Git configuration passed through the environment (GIT_CONFIG_COUNT, git >= 2.31)."""
    env = {"GIT_CONFIG_COUNT": str(len(entries))}
    for index, (key, value) in enumerate(entries.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


class SourceTooLarge(Exception):
    pass


def export_commit(repository: Path, commit: str, destination: Path, max_bytes: int,
                  env: dict[str, str] | None = None) -> None:
    """`git archive` of `commit` into a tar file, stopped as soon as it grows past `max_bytes`:
    nothing larger is ever written out. `env` names a push's quarantine (its objects are not in the
    repository until the pre-receive hook accepts it)."""
    process = subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=repository,
                               env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    written = 0
    try:
        with open(destination, "wb") as out:
            while chunk := process.stdout.read(1024 * 1024):
                written += len(chunk)
                if written > max_bytes:
                    process.kill()
                    raise SourceTooLarge(f"more than {max_bytes} bytes")
                out.write(chunk)
        stderr = process.stderr.read()
        if process.wait() != 0:
            raise PlatformError(f"git archive of {commit[:12]} failed: {stderr.decode(errors='replace').strip()}")
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    finally:
        process.stdout.close()
        process.stderr.close()
        process.wait()


def repository_size(repository: Path) -> int:
    """Bytes the repository takes, with the objects of a push still in quarantine. Git wrote every
    file here (the web server's user, not a tenant's), and links are not followed."""
    total = 0
    for root, _dirs, files in os.walk(repository):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total
