"""Logging in and out, who you are (organizations, tokens), and git's credential helper."""
from __future__ import annotations

import getpass
import sys
import webbrowser
from urllib.parse import quote

from hosting_cli import gitcred, output
from hosting_cli.client import Api
from hosting_cli.config import normalize_url
from hosting_cli.errors import NOT_LOGGED_IN, USAGE, CliError

DEFAULT_PORTAL = "http://127.0.0.1:8000"


def _ask_url(ctx) -> str:
    if ctx.args.url:
        return normalize_url(ctx.args.url)
    default = ctx.config.current_url() or DEFAULT_PORTAL
    if not sys.stdin.isatty():
        return default
    typed = input(f"Portal URL [{default}]: ").strip()
    return normalize_url(typed or default)


def _ask_token(ctx, url: str) -> str:
    if ctx.args.web:
        page = f"{url}/tokens/"
        output.note(f"Opening {page}: create a token there and paste it here.")
        webbrowser.open(page)
    if ctx.args.token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    else:
        token = getpass.getpass("API token (from the portal's API tokens page): ").strip()
    if not token:
        raise CliError("No token given.", USAGE)
    return token


def login(ctx) -> None:
    url = _ask_url(ctx)
    token = _ask_token(ctx, url)
    orgs = Api(url, token).get("orgs/")  # a refused token stops here, before anything is stored
    ctx.config.remember(url, token)
    ctx.config.save()
    if not ctx.args.no_git:
        for git_origin in ctx.config.profiles[url]["git_hosts"]:
            gitcred.install_helper(git_origin)
    names = ", ".join(f"{o['slug']} ({o['role']})" for o in orgs) or "none yet"
    output.show(ctx.args, {"portal": url, "organizations": orgs},
                lambda _: print(f"Logged in to {url}. Organizations: {names}."))


def logout(ctx) -> None:
    url = ctx.config.current_url()
    profile = ctx.config.forget(url) if url else None
    if profile is None:
        raise CliError("You are not logged in.", NOT_LOGGED_IN)
    ctx.config.save()
    for git_origin in profile.get("git_hosts", []):
        gitcred.remove_helper(git_origin)
    output.show(ctx.args, {"portal": url}, lambda _: print(f"Logged out of {url} (the token stays valid: "
                                                            "revoke it with `hosting tokens revoke PREFIX`)."))


def orgs(ctx) -> None:
    output.show(ctx.args, ctx.api.get("orgs/"), lambda rows: output.table(
        rows, [("slug", "organization"), ("name", "name"), ("role", "your role"), ("plan", "plan"),
               ("suspended", "suspended")], empty="You are not a member of any organization."))


def tokens(ctx) -> None:
    if ctx.args.action == "revoke":
        if not ctx.args.prefix:
            raise CliError("Which token? `hosting tokens revoke PREFIX` (see `hosting tokens`).", USAGE)
        ctx.api.delete(f"tokens/{quote(ctx.args.prefix, safe='')}/")
        output.show(ctx.args, {"revoked": ctx.args.prefix}, lambda _: print(f"Revoked {ctx.args.prefix}."))
        return
    output.show(ctx.args, ctx.api.get("tokens/"), lambda rows: output.table(
        rows, [("prefix", "prefix"), ("name", "name"), ("created_at", "created"), ("last_used_at", "last used"),
               ("expires_at", "expires"), ("revoked_at", "revoked"), ("current", "this one")]))


def git_credential(ctx) -> None:
    gitcred.answer(ctx.args.operation, sys.stdin, sys.stdout, ctx.config)


def register(commands, common, on_site) -> None:
    p = commands.add_parser("login", parents=[common], help="log in to a portal with an API token",
                            description="Stores the token in a 0600 file and makes `hosting` git's credential "
                            "helper for the portal, so `git push` needs no token in the remote.")
    p.add_argument("url", nargs="?", help="the portal's URL (asked when not given)")
    p.add_argument("--web", action="store_true", help="open the portal's token page in the browser first")
    p.add_argument("--token-stdin", action="store_true", help="read the token from stdin (for scripts)")
    p.add_argument("--no-git", action="store_true", help="do not install the git credential helper")
    p.set_defaults(func=login)

    p = commands.add_parser("logout", parents=[common], help="forget the current portal's token")
    p.set_defaults(func=logout)

    p = commands.add_parser("orgs", parents=[common], help="your organizations and your role in each")
    p.set_defaults(func=orgs)

    p = commands.add_parser("tokens", parents=[common], help="your API tokens; `tokens revoke PREFIX`")
    p.add_argument("action", nargs="?", choices=["list", "revoke"], default="list")
    p.add_argument("prefix", nargs="?", help="the token to revoke (its prefix)")
    p.set_defaults(func=tokens)

    p = commands.add_parser("git-credential", help="(for git) the credential helper login installs")
    p.add_argument("operation", choices=["get", "store", "erase"])
    p.set_defaults(func=git_credential)
