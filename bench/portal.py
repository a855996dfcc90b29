"""`make bench` (portal): every portal page's server time and queries for an organization of 200
sites and 10,000 deployments (releases, env vars, domains, audit events and members in proportion,
tests/portal_data.py), on a throwaway PostgreSQL.

Goal (issue 11): every page under 150 ms (median), and queries independent of the rows. The run
fails when a page's median is over the goal or its query count differs from the same page of an
organization a tenth the size.

    python -m bench.portal      # BENCH_PORTAL_RUNS (default 20), BENCH_PORTAL_SITES, BENCH_PORTAL_DEPLOYMENTS
"""
from __future__ import annotations

import os
import sys

from bench.report import measured_commit, write_section
from launcher import say
from launcher.throwaway import throwaway_services

RUNS = int(os.environ.get("BENCH_PORTAL_RUNS", "20"))
SITES = int(os.environ.get("BENCH_PORTAL_SITES", "200"))
DEPLOYMENTS_PER_SITE = int(os.environ.get("BENCH_PORTAL_DEPLOYMENTS", "10000")) // SITES
GOAL_MS = 150.0


def report(results, census: str, small_census: str) -> tuple[str, list[str]]:
    """The section's text, and what breaks the goals (one line per page)."""
    rows, broken = [], []
    for page in results:
        flags = []
        if page.median_ms > GOAL_MS:
            flags.append(f"over {GOAL_MS:.0f} ms")
        if page.queries != page.queries_small:
            flags.append("queries grow with rows")
        if page.status >= 500 or (page.status >= 400 and not page.public):
            flags.append(f"answered {page.status}")
        if flags:
            broken.append(f"{page.name}: {', '.join(flags)}")
        rows.append(f"| `{page.name}` | {page.status} | {page.median_ms:.1f} ms | {page.p95_ms:.1f} ms | "
                    f"{page.queries} | {page.queries_small} | {'; '.join(flags) or 'ok'} |")
    body = "\n".join([
        f"Each GET page of the portal (the URL table of tests/portal_urls.py), requested by the owner of an "
        f"organization (the public pages: by a visitor not signed in) with {census} (an env var per deployment, a custom domain per ten, two audit events "
        f"per deployment, a member, a token and an invitation per two sites), {RUNS} times after two warm-up requests, with "
        "Django's test Client in the web process's place (server time: middleware, view, queries, template; "
        f"no network). PostgreSQL (throwaway, loopback). Queries are counted once per page, and again for the "
        f"same page of an organization with {small_census}. Code: commit {measured_commit()}.",
        "",
        "Goal: every page < 150 ms (median), queries independent of the rows.",
        "",
        "| page | status | median | p95 | queries | queries, a tenth of the rows | goal |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Pages that break the goals: " + ("; ".join(broken) if broken else "none") + ".",
        "",
        "Command: `make bench` (or `python -m bench.portal`).",
    ])
    return body, broken


def main() -> int:
    with throwaway_services("hosting-bench-portal-") as env:
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        # Imported once Django is set up with the throwaway database (they import models).
        from django.core.management import call_command

        from bench import portal_pages

        call_command("migrate", verbosity=0)
        say(f"seeding {SITES} sites with {DEPLOYMENTS_PER_SITE} deployments each")
        small = portal_pages.prepare("benchsmall", max(2, SITES // 10), max(2, DEPLOYMENTS_PER_SITE // 10))
        big = portal_pages.prepare("bench", SITES, DEPLOYMENTS_PER_SITE)
        say("measuring every portal page")
        results = portal_pages.measure(big, small, RUNS)
        body, broken = report(results, portal_pages.census(big), portal_pages.census(small))
    write_section("portal", "Portal pages: server time at 200 sites and 10,000 deployments", body)
    print(body)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
