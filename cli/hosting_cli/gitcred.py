"""git, as the CLI uses it: the credential helper that answers git with the stored token for the
platform's own hosts only (so remotes carry no token), and the site's remote in a repository."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from typing import Optional, TextIO

from hosting_cli.config import Config, origin_of
from hosting_cli.errors import FAILED, CliError

REMOTE = "hosting"
SITE_IN_URL = re.compile(r"/git/([a-z0-9-]{1,63})\.git/?$")


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise CliError("git is not installed (or not on PATH).") from None
    if check and result.returncode != 0:
        raise CliError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}", FAILED)
    return result


def helper_command() -> str:
    """How git should call us back: this very program, by absolute path (git's `!` form runs it
    through the shell with the action appended, hence the quoting)."""
    program = os.path.abspath(sys.argv[0])
    if program.endswith(".py") or not os.access(program, os.X_OK):  # `python -m hosting_cli`
        return f"!{shlex.quote(sys.executable)} -m hosting_cli git-credential"
    return f"!{shlex.quote(program)} git-credential"


def install_helper(git_origin: str) -> None:
    """Make us git's only credential helper for `git_origin` (in the user's global git config).
    The empty value first clears helpers configured more generally (a keychain would otherwise
    store the token a second time)."""
    key = f"credential.{git_origin}.helper"
    git("config", "--global", "--replace-all", key, "")
    git("config", "--global", "--add", key, helper_command())


def remove_helper(git_origin: str) -> None:
    git("config", "--global", "--unset-all", f"credential.{git_origin}.helper", check=False)


def answer(action: str, stdin: TextIO, stdout: TextIO, config: Config) -> None:
    """git's credential protocol: `get` answers a username and the token for a platform host and
    nothing for any other; `store` and `erase` do nothing (the token is ours to keep or drop)."""
    if action != "get":
        return
    asked = {}
    for line in stdin:
        line = line.rstrip("\n")
        if not line:
            break
        key, _, value = line.partition("=")
        asked[key] = value
    if asked.get("protocol") not in ("http", "https") or not asked.get("host"):
        return
    token = config.token_for_git_host(f"{asked['protocol']}://{asked['host'].lower()}")
    if token:
        stdout.write(f"username=hosting\npassword={token}\n")


def site_from_remote(remote: str = REMOTE) -> Optional[str]:
    """The site named by the current repository's `hosting` remote, if there is one."""
    try:
        result = subprocess.run(["git", "remote", "get-url", remote], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    match = SITE_IN_URL.search(result.stdout.strip()) if result.returncode == 0 else None
    return match.group(1) if match else None


def in_repository() -> bool:
    try:
        return subprocess.run(["git", "rev-parse", "--git-dir"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def set_remote(git_url: str, remote: str = REMOTE) -> str:
    """Add the remote (or point an existing one of that name at the site); "added" or "updated"."""
    if git("remote", "get-url", remote, check=False).returncode == 0:
        git("remote", "set-url", remote, git_url)
        return "updated"
    git("remote", "add", remote, git_url)
    return "added"


def ensure_helper_for(config: Config, portal: str, git_url: str) -> None:
    """The platform may serve git under another origin than the URL one logged in with."""
    git_origin = origin_of(git_url)
    if config.add_git_host(portal, git_origin):
        config.save()
    install_helper(git_origin)
