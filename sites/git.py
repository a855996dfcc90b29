"""Site repositories: bare repos at GIT_ROOT/<site uuid>.git, served by git's own http-backend.

The path of a repository comes from the database (the site's uuid), never from the URL's text.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from hosting.errors import PlatformError

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


def export_commit(repository: Path, commit: str, destination: Path) -> None:
    """`git archive` of `commit` into a tar file (works inside a pre-receive hook's quarantine)."""
    with open(destination, "wb") as out:
        result = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=repository, stdout=out, stderr=subprocess.PIPE, text=False
        )
    if result.returncode != 0:
        raise PlatformError(f"git archive of {commit[:12]} failed: {result.stderr.decode(errors='replace').strip()}")
