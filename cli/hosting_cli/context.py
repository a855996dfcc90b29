"""What a command works with: the config, the API client for the current portal, and the site it
is about (--site, HOSTING_SITE, or the current repository's `hosting` remote)."""
from __future__ import annotations

import os
from typing import Optional
from urllib.parse import quote

from hosting_cli import gitcred
from hosting_cli.client import Api
from hosting_cli.config import Config
from hosting_cli.errors import USAGE, CliError


class Context:
    def __init__(self, args, config: Optional[Config] = None) -> None:
        self.args = args
        self.config = config or Config.load()
        self._api: Optional[Api] = None

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(*self.config.credentials())
        return self._api

    @property
    def site(self) -> str:
        name = getattr(self.args, "site", None) or os.environ.get("HOSTING_SITE") or gitcred.site_from_remote()
        if not name:
            raise CliError("Which site? Name it with --site NAME, or run this in a repository with a `hosting` "
                           "remote (`hosting git:remote --site NAME`).", USAGE)
        return name

    def site_path(self, rest: str = "") -> str:
        return f"sites/{quote(self.site, safe='')}/{rest}"
