"""A running site: its logs (followed with -f), its processes (ps, scale) and one-off commands (run)."""
from __future__ import annotations

import argparse
import json
import re
import sys

from hosting_cli import output
from hosting_cli.errors import FAILED, USAGE, CliError

OUTCOME = re.compile(r"^-----> Run #(\d+) exited with code (\d+)$")
FAILED_RUN = re.compile(r"^ !     Run #(\d+): (.*)$")
EXITED = re.compile(r"Exited with code (\d+)")


def _print_logs(answer: dict) -> None:
    # No lines: the platform's note says why (the site is stopped, suspended, not deployed).
    if answer["lines"] or answer.get("note"):
        print("\n".join(answer["lines"]) or answer["note"])


def logs(ctx) -> None:
    query = {"lines": ctx.args.num, "process": ctx.args.process}
    if not ctx.args.follow:
        answer = ctx.api.get(ctx.site_path("logs/"), **{k: v for k, v in query.items() if v})
        output.show(ctx.args, answer, _print_logs)
        return
    for line in ctx.api.stream_lines("GET", ctx.site_path("logs/"), query={**query, "follow": "1"}):
        print(json.dumps({"line": line}) if ctx.args.json else line, flush=True)


def ps(ctx) -> None:
    def human(formation: dict) -> None:
        output.table([{"type": "web", "command": "(the Procfile's web, or the runtime's)", "quantity": 1,
                       "running": "-"}] + formation["processes"],
                     [("type", "type"), ("quantity", "quantity"), ("running", "running"), ("command", "command")])
        print(f"(your plan allows {formation['max_processes']} process containers besides web)")

    output.show(ctx.args, ctx.api.get(ctx.site_path("formation/")), human)


def scale(ctx) -> None:
    wanted = {}
    for item in ctx.args.items:
        kind, sep, number = item.partition("=")
        if not sep or not number.isdigit():
            raise CliError(f"`{item}` is not TYPE=N (like worker=2).", USAGE)
        wanted[kind] = int(number)
    output.show(ctx.args, ctx.api.patch(ctx.site_path("formation/"), wanted), lambda f: output.table(
        f["processes"], [("type", "type"), ("quantity", "quantity"), ("running", "running")]))


def run(ctx) -> None:
    """The command's output as it comes, then exit with the command's own exit code."""
    command = " ".join(ctx.args.command)
    if not command.strip():
        raise CliError("`hosting run COMMAND` (quote it, or put -- before it if it has options).", USAGE)
    body = {"command": command, "attach": not ctx.args.detach}
    if ctx.args.detach:
        output.show(ctx.args, ctx.api.post(ctx.site_path("runs/"), body),
                    lambda r: print(f"Run #{r['id']} {r['state']}: `hosting runs {r['id']}` shows its output."))
        return
    with ctx.api.open("POST", ctx.site_path("runs/"), data=json.dumps(body).encode(),
                      content_type="application/json", timeout=None) as response:
        if response.status != 201:  # too many streams: it runs all the same, read it later
            answer = json.loads(response.read())
            raise CliError(f"Run #{answer.get('id')} started, but {answer.get('detail', 'cannot be followed')}")
        code = FAILED
        for raw in iter(response.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            outcome, failure = OUTCOME.match(line), FAILED_RUN.match(line)
            if outcome:
                code = int(outcome.group(2))
            elif failure:
                exited = EXITED.search(failure.group(2))
                code = int(exited.group(1)) if exited else FAILED
            target = sys.stderr if (outcome or failure or ctx.args.json) else sys.stdout
            print(line, file=target, flush=True)
        run_id = response.headers.get("X-Run-Id")
    if ctx.args.json and run_id:  # the output went to stderr; stdout gets the run as the API shows it
        print(json.dumps(ctx.api.get(ctx.site_path(f"runs/{run_id}/")), indent=2))
    if code:
        raise SystemExit(code)


def runs(ctx) -> None:
    if ctx.args.id is None:
        output.show(ctx.args, ctx.api.get(ctx.site_path("runs/")), lambda rows: output.table(
            rows, [("id", "#"), ("command", "command"), ("trigger", "trigger"), ("state", "state"),
                   ("exit_code", "exit"), ("created_by", "by"), ("created_at", "created")]))
        return
    output.show(ctx.args, ctx.api.get(ctx.site_path(f"runs/{ctx.args.id}/")),
                lambda r: print(r.get("output") or "", end=""))


def register(commands, common, on_site) -> None:
    p = commands.add_parser("logs", parents=[common, on_site], help="the running container's output (-f follows)")
    p.add_argument("-n", "--num", type=int, default=100, help="how many recent lines (default 100, at most 5000)")
    p.add_argument("-f", "--follow", action="store_true", help="keep streaming new lines (Ctrl-C stops)")
    p.add_argument("-p", "--process", help="a process container: worker.1, ... (default: web)")
    p.set_defaults(func=logs)

    p = commands.add_parser("ps", parents=[common, on_site], help="process types and how many run")
    p.set_defaults(func=ps)

    p = commands.add_parser("scale", parents=[common, on_site], help="scale process types: worker=2 (0 stops)")
    p.add_argument("items", nargs="+", metavar="TYPE=N")
    p.set_defaults(func=scale)

    p = commands.add_parser("run", parents=[common, on_site], help="run a one-off command in the current release")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command (run as bash -c); options before it")
    p.add_argument("-d", "--detach", action="store_true", help="do not wait: print the run's id")
    p.set_defaults(func=run)

    p = commands.add_parser("runs", parents=[common, on_site], help="one-off and scheduled runs, or one's output")
    p.add_argument("id", nargs="?", type=int)
    p.set_defaults(func=runs)
