"""Sites: list, create, info, delete (with confirmation); the git remote; open in the browser."""
from __future__ import annotations

import sys
import webbrowser
from urllib.parse import quote

from hosting_cli import gitcred, output
from hosting_cli.errors import USAGE, CliError

SITE_FIELDS = [("name", "Site"), ("organization", "Organization"), ("status", "Status"), ("runtime", "Runtime"),
               ("current_release", "Release"), ("url", "URL"), ("git_url", "Git remote"), ("domains", "Domains"),
               ("writable_paths", "Writable paths"), ("health_check_path", "Health check"),
               ("force_https", "Force HTTPS"), ("created_at", "Created")]


def sites(ctx) -> None:
    {"list": list_sites, "create": create, "info": info, "delete": delete}[ctx.args.action](ctx)


def list_sites(ctx) -> None:
    output.show(ctx.args, ctx.api.get("sites/"), lambda rows: output.table(
        rows, [("name", "site"), ("organization", "organization"), ("status", "status"),
               ("current_release", "release"), ("url", "url")],
        empty="No sites yet: `hosting sites create NAME`."))


def _named(ctx) -> str:
    name = ctx.args.name or (ctx.site if ctx.args.action != "create" else None)
    if not name:
        raise CliError(f"Name the site: `hosting sites {ctx.args.action} NAME`.", USAGE)
    return name


def create(ctx) -> None:
    body = {"name": _named(ctx), "runtime": ctx.args.runtime}
    if ctx.args.org:
        body["organization"] = ctx.args.org
    site = ctx.api.post("sites/", body)
    remote = None
    if not ctx.args.no_remote and gitcred.in_repository() and gitcred.site_from_remote() is None:
        gitcred.ensure_helper_for(ctx.config, ctx.api.portal, site["git_url"])
        remote = gitcred.set_remote(site["git_url"])

    def human(site: dict) -> None:
        print(f"Created {site['name']}: {site['url']}")
        if remote:
            print(f"Git remote `{gitcred.REMOTE}` {remote}: {site['git_url']}. Deploy with `git push hosting main`.")
        else:
            print(f"Git remote: {site['git_url']} (add it here with `hosting git:remote --site {site['name']}`).")

    output.show(ctx.args, site, human)


def info(ctx) -> None:
    output.show(ctx.args, ctx.api.get(f"sites/{quote(_named(ctx), safe='')}/"),
                lambda site: output.fields(site, SITE_FIELDS))


def delete(ctx) -> None:
    name = _named(ctx)
    confirm = ctx.args.confirm
    if confirm is None:
        if not sys.stdin.isatty():
            raise CliError(f"Deleting {name} removes its containers, data, repository and releases for good: "
                           f"confirm with --confirm {name}.", USAGE)
        output.note(f"Deleting {name} removes its containers, data volume, repository and releases for good.")
        confirm = input(f"Type the site's name ({name}) to confirm: ").strip()
    if confirm != name:
        raise CliError(f"The confirmation does not match {name}: nothing was deleted.", USAGE)
    ctx.api.delete(f"sites/{quote(name, safe='')}/")
    output.show(ctx.args, {"deleted": name}, lambda _: print(f"Deleted {name}."))


def git_remote(ctx) -> None:
    if not gitcred.in_repository():
        raise CliError("This is not a git repository: run `git init` first, or deploy with `hosting deploy`.", USAGE)
    site = ctx.api.get(ctx.site_path())
    gitcred.ensure_helper_for(ctx.config, ctx.api.portal, site["git_url"])
    done = gitcred.set_remote(site["git_url"], ctx.args.remote)
    output.show(ctx.args, {"remote": ctx.args.remote, "url": site["git_url"], "site": site["name"]}, lambda r: print(
        f"Git remote `{r['remote']}` {done}: {r['url']}. Deploy with `git push {r['remote']} main`."))


def open_site(ctx) -> None:
    site = ctx.api.get(ctx.site_path())
    url = site["url"].rstrip("/") + "/" + ctx.args.path.lstrip("/")
    if not ctx.args.json:
        webbrowser.open(url)
    output.show(ctx.args, {"url": url}, lambda r: print(f"Opening {r['url']}"))


def register(commands, common, on_site) -> None:
    p = commands.add_parser("sites", parents=[common], help="list, create, show or delete sites",
                            description="`hosting sites` lists; `sites create NAME`, `sites info [NAME]`, "
                            "`sites delete NAME [--confirm NAME]`.")
    p.add_argument("action", nargs="?", choices=["list", "create", "info", "delete"], default="list")
    p.add_argument("name", nargs="?", help="the site (info and delete default to --site or the git remote's)")
    p.add_argument("-s", "--site", help="the site (as NAME)")
    p.add_argument("--runtime", default="auto", help="create: auto (detected at each build), static, php, python, node")
    p.add_argument("--org", help="create: the organization (when you have several)")
    p.add_argument("--no-remote", action="store_true", help="create: do not add the `hosting` git remote here")
    p.add_argument("--confirm", metavar="NAME", help="delete: the site's name, to confirm without a prompt")
    p.set_defaults(func=sites)

    p = commands.add_parser("git:remote", parents=[common, on_site], help="add the site's git remote here")
    p.add_argument("-r", "--remote", default=gitcred.REMOTE, help="the remote's name (default: hosting)")
    p.set_defaults(func=git_remote)

    p = commands.add_parser("open", parents=[common, on_site], help="open the site in the browser")
    p.add_argument("path", nargs="?", default="/", help="a path on the site")
    p.set_defaults(func=open_site)

