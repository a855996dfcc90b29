"""`make bench` (staff admin): the staff site's pages on a platform of 10,000 sites and 100,000
deployments (releases, env vars, domains, audit events, members, hosts, instances, routes,
certificates and tickets in proportion: tests/admin_data.py), on a throwaway PostgreSQL.

Goal (issue 12): every page under 300 ms (median), and queries independent of the rows. The run
fails when a page's median is over the goal or its query count differs from the same page of a
platform a tenth the size (measured first, then grown).

    python -m bench.admin   # BENCH_ADMIN_RUNS (default 10), BENCH_ADMIN_SITES, BENCH_ADMIN_DEPLOYMENTS,
                            # BENCH_ADMIN_ORGANIZATIONS
"""
from __future__ import annotations

import os
import sys
import time

from bench.report import measured_commit, write_section
from launcher import say
from launcher.throwaway import throwaway_services

RUNS = int(os.environ.get("BENCH_ADMIN_RUNS", "10"))
SITES = int(os.environ.get("BENCH_ADMIN_SITES", "10000"))
ORGANIZATIONS = int(os.environ.get("BENCH_ADMIN_ORGANIZATIONS", "200"))
SITES_PER_ORGANIZATION = max(1, SITES // ORGANIZATIONS)
DEPLOYMENTS_PER_SITE = max(1, int(os.environ.get("BENCH_ADMIN_DEPLOYMENTS", "100000")) // SITES)
GOAL_MS = 300.0


def report(results, census: str, small_census: str, seconds: float) -> tuple[str, list[str]]:
    """The section's text, and what breaks the goals (one line per page)."""
    rows, broken = [], []
    for page in results:
        flags = []
        if page.median_ms > GOAL_MS:
            flags.append(f"over {GOAL_MS:.0f} ms")
        if page.queries_small is not None and page.queries != page.queries_small:
            flags.append("queries grow with rows")
        if page.status != 200:
            flags.append(f"answered {page.status}")
        if flags:
            broken.append(f"{page.name}: {', '.join(flags)}")
        small = "-" if page.queries_small is None else page.queries_small
        rows.append(f"| {page.name} | `{page.url}` | {page.status} | {page.median_ms:.1f} ms | {page.p95_ms:.1f} ms | "
                    f"{page.queries} | {small} | {'; '.join(flags) or 'ok'} |")
    body = "\n".join([
        f"The staff site's pages (the dashboard, every registered ModelAdmin's list, the searches and filters staff "
        f"use most, the change pages of a site and an organization) and /metrics, on a platform of {census} "
        f"(built with tests/admin_data.py in {seconds:.0f} s), requested by a superuser (/metrics: by the scraper's "
        f"token) {RUNS} times after two warm-up requests, with Django's test Client in the web process's place "
        "(server time: middleware, view, queries, template; no network). PostgreSQL (throwaway, loopback). "
        f"Queries are counted once per page, and again for the same page on a platform of {small_census} (measured "
        f"first, then grown). Code: commit {measured_commit()}.",
        "",
        f"Goal: every page < {GOAL_MS:.0f} ms (median), queries independent of the rows.",
        "",
        "| page | URL | status | median | p95 | queries | queries, a tenth of the rows | goal |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Pages that break the goals: " + ("; ".join(broken) if broken else "none") + ".",
        "",
        "Command: `make bench` (or `python -m bench.admin`).",
    ])
    return body, broken


def main() -> int:
    with throwaway_services("hosting-bench-admin-") as env:
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        # Imported once Django is set up with the throwaway database (they import models).
        from django.core.management import call_command
        from django.db import connection

        from bench import admin_pages
        from tests.admin_data import census, grow_platform

        call_command("migrate", verbosity=0)
        small = (max(2, ORGANIZATIONS // 10), max(1, SITES_PER_ORGANIZATION // 2), max(1, DEPLOYMENTS_PER_SITE // 2))
        say(f"seeding the small platform: {small[0]} organizations of {small[1]} sites of {small[2]} deployments")
        grow_platform(*small)
        staff = admin_pages.staff_client()
        urls = admin_pages.pages()
        small_census, small_queries = census(), admin_pages.count_queries(urls, staff)
        say(f"growing it to {ORGANIZATIONS} organizations of {SITES_PER_ORGANIZATION} sites of "
            f"{DEPLOYMENTS_PER_SITE} deployments")
        started = time.monotonic()
        grow_platform(ORGANIZATIONS, SITES_PER_ORGANIZATION, DEPLOYMENTS_PER_SITE)
        with connection.cursor() as cursor:  # a live database's tables are analysed; fresh bulk loads are not yet
            cursor.execute("ANALYZE")
        seconds = time.monotonic() - started
        say("measuring every staff page")
        results = admin_pages.measure(urls, staff, small_queries, RUNS)
        body, broken = report(results, census(), small_census, seconds)
    write_section("admin", "Staff admin pages: server time at 10,000 sites and 100,000 deployments", body)
    print(body)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
