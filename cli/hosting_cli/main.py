"""`hosting`: the parser, and one place that turns errors into messages and exit codes."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from hosting_cli import __version__, completion
from hosting_cli.commands import admin, auth, config_cmd, deploys, domains, runtime, sites
from hosting_cli.context import Context
from hosting_cli.errors import INTERRUPTED, CliError

TOPICS = [auth, sites, deploys, config_cmd, runtime, domains, admin]
EPILOG = """Start with `hosting login`, then `hosting sites create NAME` in your app's repository and
`git push hosting main`. Commands take --json (the API's JSON) and --site NAME (else the site of the
repository's `hosting` remote). heroku-style names work too: sites:create, config:set, domains:add.
Exit codes: 0 done, 1 failed, 2 usage, 3 not logged in or token refused, 4 not found, 5 not allowed,
6 platform unreachable or busy (try again); `run` exits with the command's own code."""


def build_parser() -> argparse.ArgumentParser:
    # Options every command takes, after its name too; SUPPRESS keeps a subcommand from resetting them.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON")
    on_site = argparse.ArgumentParser(add_help=False)
    on_site.add_argument("-s", "--site", help="the site (default: the current repository's `hosting` remote's)")

    parser = argparse.ArgumentParser(prog="hosting", description="The hosting platform's command line.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hosting-cli {__version__}")
    parser.add_argument("--json", action="store_true", default=False, help="print the API's JSON")
    commands = parser.add_subparsers(dest="topic", metavar="COMMAND", required=True)
    for topic in TOPICS:
        topic.register(commands, common, on_site)
    p = commands.add_parser("completion", help="print the shell completion script: eval \"$(hosting completion bash)\"")
    p.add_argument("shell", choices=["bash"])
    p.set_defaults(func=lambda ctx: print(completion.bash(parser), end=""))
    return parser


def _heroku_style(argv: list[str]) -> list[str]:
    """`sites:create` is `sites create`; `git:remote` is a name of its own."""
    if argv and ":" in argv[0] and argv[0] != "git:remote" and not argv[0].startswith("-"):
        return argv[0].split(":", 1) + argv[1:]
    return argv


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = build_parser()
    args = parser.parse_args(_heroku_style(list(sys.argv[1:] if argv is None else argv)))
    try:
        args.func(Context(args))
    except CliError as exc:
        print(f"hosting: {exc.message}", file=sys.stderr)
        sys.exit(exc.code)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except BrokenPipeError:  # `hosting logs | head`
        sys.stderr.close()
        sys.exit(0)
