"""Site repositories: bare repos at GIT_ROOT/<site uuid>.git, behind one class.

`Repository` is the only code that builds a git command line (as `hosting.engine` is for Docker
and `proxy.edge` for nginx). The path of a repository comes from the database (the site's uuid),
never from the URL's text. Run-to-end calls go through `core.commands.run`; the two that stream
(`git archive` into a size-capped file, `git http-backend` to the client) are processes of their own.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from django.conf import settings

from core.commands import run
from core.errors import PlatformError

HOOKS_DIR = Path(__file__).resolve().parent / "git_hooks"
GIT_TIMEOUT = 60


class SourceTooLarge(Exception):
    pass


class Repository:
    """The bare repository of the site whose uuid is `site_uuid_hex`."""

    def __init__(self, site_uuid_hex: str) -> None:
        self.site_uuid_hex = site_uuid_hex
        self.path = Path(settings.GIT_ROOT) / f"{site_uuid_hex}.git"

    @classmethod
    def of(cls, site) -> "Repository":
        return cls(site.uuid.hex)

    def create(self) -> Path:
        if self.path.exists():
            return self.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A failure is already a PlatformError that says what was being done (core.commands).
        run(["git", "init", "--quiet", "--bare", "--initial-branch=main", self.path],
            doing="creating the site's git repository", timeout=GIT_TIMEOUT)
        return self.path

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def size(self) -> int:
        """Bytes the repository takes, with the objects of a push still in quarantine (inside it).
        Git wrote every file here (the web server's user, not a tenant's); links are not followed."""
        total = 0
        for root, _dirs, files in os.walk(self.path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    continue
        return total

    def export_commit(self, commit: str, destination: Path, max_bytes: int,
                      quarantine: dict[str, str] | None = None) -> None:
        """`git archive` of `commit` into a tar file, stopped as soon as it grows past `max_bytes`:
        nothing larger is ever written out. `quarantine` names where a push's objects wait until
        its pre-receive hook accepts it (sites.push_hook.quarantine_env)."""
        process = subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=self.path,
                                   env={**os.environ, **(quarantine or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _copy_capped(process, destination, max_bytes)
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

    def http_backend(self, path: str, cgi_env: dict[str, str], push_limit: int,
                     pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
        """`git http-backend` serving `path` of this repository (info/refs, git-upload-pack, ...),
        with the platform's hooks and a push limit of `push_limit` bytes. The caller feeds stdin
        and reads the CGI answer from stdout; `pass_fds` reach the hooks (sites.push_hook)."""
        env = {
            **cgi_env,
            "GIT_PROJECT_ROOT": str(self.path.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{self.path.name}/{path}",
            **_config_env({
                "core.hooksPath": str(HOOKS_DIR),
                "receive.maxInputSize": str(push_limit),
                "http.receivepack": "true",
                "uploadpack.allowFilter": "true",
            }),
        }
        # A session of its own: `git` runs git-http-backend as a child, which runs receive-pack and
        # the hooks; kill_backend ends them all together.
        return subprocess.Popen(["git", "http-backend"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, pass_fds=pass_fds, start_new_session=True)


def _copy_capped(process: subprocess.Popen, destination: Path, max_bytes: int) -> None:
    written = 0
    with open(destination, "wb") as out:
        while chunk := process.stdout.read(1024 * 1024):
            written += len(chunk)
            if written > max_bytes:
                process.kill()
                raise SourceTooLarge(f"more than {max_bytes} bytes")
            out.write(chunk)


def _config_env(entries: dict[str, str]) -> dict[str, str]:
    """Git configuration passed through the environment (GIT_CONFIG_COUNT, git >= 2.31)."""
    env = {"GIT_CONFIG_COUNT": str(len(entries))}
    for index, (key, value) in enumerate(entries.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def kill_backend(process: subprocess.Popen) -> None:
    """End a `git http-backend` and every process it started (its session's process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already gone
