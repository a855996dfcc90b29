"""The CLI's own file: one profile (token, git hosts) per portal URL, and which portal is current.

It lives at $XDG_CONFIG_HOME/hosting/config.json (~/.config/... by default), mode 0600 in a 0700
directory, written whole to a temporary file then moved into place. HOSTING_URL and HOSTING_TOKEN
override it, for scripts and CI where nothing should be written.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from hosting_cli.errors import NOT_LOGGED_IN, USAGE, CliError


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "hosting" / "config.json"


def normalize_url(url: str) -> str:
    """The portal's origin as the profile's key: scheme://host[:port], no path, no slash."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"{url} is not a portal URL (like https://portal.example.com).", USAGE)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


class Config:
    def __init__(self, data: Optional[dict] = None, path: Optional[Path] = None) -> None:
        self.path = path or config_path()
        self.data = data if data is not None else {"current": None, "profiles": {}}

    @classmethod
    def load(cls) -> "Config":
        path = config_path()
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, ValueError) as exc:
            raise CliError(f"Cannot read {path}: {exc}. Fix or remove it, then log in again.") from None
        data.setdefault("profiles", {})
        return cls(data, path)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".config-")
        try:
            os.fchmod(handle, 0o600)  # before a byte of the token is written
            with os.fdopen(handle, "w") as out:
                json.dump(self.data, out, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise

    @property
    def profiles(self) -> dict:
        return self.data["profiles"]

    def current_url(self) -> Optional[str]:
        if os.environ.get("HOSTING_URL"):
            return normalize_url(os.environ["HOSTING_URL"])
        return self.data.get("current")

    def credentials(self) -> tuple[str, str]:
        """(portal URL, token) to call the API with, or a clear "log in" error."""
        url = self.current_url()
        token = os.environ.get("HOSTING_TOKEN") or (self.profiles.get(url, {}).get("token") if url else None)
        if not url or not token:
            raise CliError("You are not logged in: run `hosting login` (or set HOSTING_URL and HOSTING_TOKEN).",
                           NOT_LOGGED_IN)
        return url, token

    def remember(self, url: str, token: str) -> None:
        profile = self.profiles.setdefault(url, {})
        profile["token"] = token
        profile.setdefault("git_hosts", [url])
        self.data["current"] = url

    def add_git_host(self, url: str, git_origin: str) -> bool:
        """Note that `git_origin` serves this portal's git; True when it is new."""
        hosts = self.profiles.setdefault(url, {}).setdefault("git_hosts", [url])
        if git_origin in hosts:
            return False
        hosts.append(git_origin)
        return True

    def forget(self, url: str) -> Optional[dict]:
        profile = self.profiles.pop(url, None)
        if self.data.get("current") == url:
            self.data["current"] = next(iter(self.profiles), None)
        return profile

    def token_for_git_host(self, git_origin: str) -> Optional[str]:
        """The token of the profile whose portal serves git at `git_origin`; None for any other host."""
        env_url, env_token = os.environ.get("HOSTING_URL"), os.environ.get("HOSTING_TOKEN")
        if env_url and env_token and normalize_url(env_url) == git_origin:
            return env_token
        for profile in self.profiles.values():
            if git_origin in profile.get("git_hosts", []) and profile.get("token"):
                return profile["token"]
        return None
