"""Config vars: names by default, one value only when asked (`config get KEY`, audited by the
platform); set and unset make a new release, followed until it is live."""
from __future__ import annotations

import sys
from urllib.parse import quote

from hosting_cli import output
from hosting_cli.commands.deploys import follow
from hosting_cli.errors import USAGE, CliError


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"`{item}` is not KEY=value.", USAGE)
        pairs[key] = value
    return pairs


def config(ctx) -> None:
    action, items = ctx.args.action, ctx.args.items
    if action == "list":
        output.show(ctx.args, ctx.api.get(ctx.site_path("env/")), lambda names: output.table(
            [{"key": key, "value": "(hidden: `hosting config get KEY`)"} for key in names],
            [("key", "key"), ("value", "value")], empty="No config vars."))
    elif action == "get":
        if len(items) != 1:
            raise CliError("`hosting config get KEY` (one key).", USAGE)
        answer = ctx.api.get(ctx.site_path(f"env/{quote(items[0], safe='')}/"))
        output.show(ctx.args, answer, lambda a: print(a["value"]))
    elif action == "set":
        if not items:
            raise CliError("`hosting config set KEY=value [KEY=value ...]` (or - to read KEY=value lines from stdin).",
                           USAGE)
        if items == ["-"]:
            items = [line.rstrip("\n") for line in sys.stdin if line.strip() and not line.startswith("#")]
        pairs = _pairs(items)
        answer = ctx.api.post(ctx.site_path("env/"), {"vars": pairs})
        follow(ctx, answer, f"Set {', '.join(pairs)}")
    else:  # unset
        if len(items) != 1:
            raise CliError("`hosting config unset KEY` (one key a release).", USAGE)
        answer = ctx.api.delete(ctx.site_path(f"env/{quote(items[0], safe='')}/"))
        follow(ctx, answer, f"Unset {items[0]}")


def register(commands, common, on_site) -> None:
    p = commands.add_parser("config", parents=[common, on_site], help="config vars: list, get, set, unset",
                            description="`hosting config` lists the names (values stay hidden); "
                            "`config get KEY` shows one value; `config set K=v ...` and `config unset KEY` "
                            "make a new release.")
    p.add_argument("action", nargs="?", choices=["list", "get", "set", "unset"], default="list")
    p.add_argument("items", nargs="*", metavar="KEY[=value]")
    p.add_argument("--no-wait", action="store_true", help="set/unset: do not follow the new release")
    p.set_defaults(func=config)
