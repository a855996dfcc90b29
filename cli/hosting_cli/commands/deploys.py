"""Deployments: an archive of the working tree, their progress and log until they end, releases,
rollback, restart."""
from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import time

from hosting_cli import output
from hosting_cli.errors import FAILED, USAGE, CliError

ENDED = {"succeeded", "failed"}
SKIPPED = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv"}


def follow(ctx, answer: dict, what: str) -> None:
    """Follow a deployment the API just accepted (202) until it ends: its state on stderr, its log
    as it grows (stdout, or stderr with --json), then exit 1 if it failed. `{"deployment": null}`
    (nothing deployed yet, nothing to roll out) ends at once."""
    if answer.get("id") is None:
        output.show(ctx.args, answer, lambda _: print(f"{what}: nothing is deployed yet; the first deploy uses it."))
        return
    if getattr(ctx.args, "no_wait", False):
        output.show(ctx.args, answer, lambda d: print(f"{what}: deployment #{d['id']} {d['state']}."))
        return
    log_out = sys.stderr if ctx.args.json else sys.stdout
    path, state, shown = ctx.site_path(f"deployments/{answer['id']}/"), None, 0
    while True:
        deployment = ctx.api.get(path)
        if deployment["state"] != state:
            state = deployment["state"]
            output.note(f"==> Deployment #{deployment['id']}: {state}")
        log = deployment.get("log") or ""
        upto = len(log) if state in ENDED else log.rfind("\n") + 1  # whole lines while it runs
        if upto > shown:
            log_out.write(log[shown:upto] + ("" if log[:upto].endswith("\n") else "\n"))
            log_out.flush()
            shown = upto
        if state in ENDED:
            break
        time.sleep(1)
    if state == "failed":
        if ctx.args.json:
            print(json.dumps(deployment, indent=2))
        raise CliError(f"{what} failed: {deployment.get('error') or 'see the log above'}", FAILED)
    output.show(ctx.args, deployment, lambda d: print(f"{what}: {d['release']} is live."))


def _archive(directory: str) -> bytes:
    """A .tar.gz of the directory, without version control and dependency folders."""
    if not os.path.isdir(directory):
        raise CliError(f"{directory} is not a directory.", USAGE)

    def keep(info: tarfile.TarInfo):
        if set(info.name.split("/")) & SKIPPED:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in sorted(os.listdir(directory)):
            tar.add(os.path.join(directory, entry), arcname=entry, filter=keep)
    return buffer.getvalue()


def deploy(ctx) -> None:
    content = _archive(ctx.args.dir)
    output.note(f"==> Uploading {ctx.args.dir} ({len(content) // 1024 + 1} KB) to {ctx.site}")
    answer = ctx.api.upload(ctx.site_path("deployments/"), "archive", "app.tar.gz", content)
    follow(ctx, answer, "Deploy")


def releases(ctx) -> None:
    output.show(ctx.args, ctx.api.get(ctx.site_path("releases/")), lambda rows: output.table(
        rows, [("label", "release"), ("status", "status"), ("description", "description"), ("commit", "source"),
               ("created_by", "by"), ("created_at", "created")], empty="No releases yet: push or `hosting deploy`."))


def _previous_release(ctx) -> str:
    rows = ctx.api.get(ctx.site_path("releases/"))
    current = next((i for i, r in enumerate(rows) if r["status"] == "current"), None)
    if current is not None:
        for row in rows[current + 1:]:  # newest first: the one that went live before the current one
            if row["status"] == "succeeded":
                return row["label"]
    raise CliError("There is no earlier release that went live: name one (`hosting releases`).", FAILED)


def rollback(ctx) -> None:
    release = ctx.args.release or _previous_release(ctx)
    follow(ctx, ctx.api.post(ctx.site_path("rollback/"), {"release": release}), f"Rollback to {release}")


def deployments(ctx) -> None:
    if ctx.args.id is not None:
        output.show(ctx.args, ctx.api.get(ctx.site_path(f"deployments/{ctx.args.id}/")),
                    lambda d: (output.fields(d, [(k, k.replace("_", " ").capitalize()) for k in d if k != "log"]),
                               print("\n" + (d.get("log") or ""))))
        return
    output.show(ctx.args, ctx.api.get(ctx.site_path("deployments/")), lambda rows: output.table(
        rows, [("id", "#"), ("trigger", "trigger"), ("state", "state"), ("release", "release"),
               ("source", "source"), ("created_by", "by"), ("created_at", "created"), ("error", "error")]))


def action(ctx) -> None:
    """restart / start / stop."""
    name = ctx.args.command
    answer = ctx.api.post(ctx.site_path(f"{name}/"))
    if name == "stop":
        output.show(ctx.args, answer, lambda _: print(f"Stopping {ctx.site}."))
    else:
        follow(ctx, answer, name.capitalize())


def register(commands, common, on_site) -> None:
    p = commands.add_parser("deploy", parents=[common, on_site], help="deploy an archive of a directory (no git)")
    p.add_argument("dir", nargs="?", default=".", help="the app's directory (default: here)")
    p.add_argument("--no-wait", action="store_true", help="do not follow the deployment")
    p.set_defaults(func=deploy)

    p = commands.add_parser("releases", parents=[common, on_site], help="the site's releases, newest first")
    p.set_defaults(func=releases)

    p = commands.add_parser("rollback", parents=[common, on_site], help="roll back to a release (default: the previous)")
    p.add_argument("release", nargs="?", help="v3 or 3 (default: the release before the current one)")
    p.add_argument("--no-wait", action="store_true", help="do not follow the deployment")
    p.set_defaults(func=rollback)

    p = commands.add_parser("deployments", parents=[common, on_site], help="the site's deployments, or one with its log")
    p.add_argument("id", nargs="?", type=int, help="one deployment, with its log")
    p.set_defaults(func=deployments)

    for name, text in (("restart", "restart with zero downtime"), ("start", "start a stopped site"),
                       ("stop", "stop the site (the edge shows a stopped page)")):
        p = commands.add_parser(name, parents=[common, on_site], help=text)
        p.add_argument("--no-wait", action="store_true", help="do not follow the deployment")
        p.set_defaults(func=action, command=name)
