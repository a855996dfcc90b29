"""`make bench` (failover): how long the sites of a lost host take to serve again from another host,
against how many sites it ran.

It runs the integration test tests/integration/test_failover.py (real agents, edge, Docker; the
load generator through the edge) once per count, and reads what each run measured: from the
`kill -9` of the host's agent until each site's route names its new instance and answers. The
lost host's containers keep running on the shared daemon (a partitioned host), so the test also
counts failed requests across the switch. The detection time is the test platform's
HOST_DOWN_AFTER (10 s) plus up to one beat interval (10 s).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import write_section
from launcher import say
from launcher.stack import BASE_DIR

COUNTS = os.environ.get("FAILOVER_BENCH_SITES", "1,5,10")


def measure(label: str, test_args: list[str], counts: str, env: dict[str, str]) -> tuple[list[dict], float]:
    """Run a failover test once for `counts` (comma-separated site counts): `env` names the test's
    variables for the counts and for the file it appends one JSON line of results to per count."""
    with tempfile.TemporaryDirectory() as work:
        results = Path(work) / "results.jsonl"
        started = time.monotonic()
        say(f"{label}: sites on the lost host {counts}")
        run = subprocess.run(
            [sys.executable, "-m", "launcher.test", *test_args, "-q", "-s", "-p", "no:cacheprovider",
             f"--basetemp={work}/pytest"],
            cwd=BASE_DIR, env={**os.environ, env["counts"]: counts, env["results"]: str(results)})
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
        if len(rows) != len(counts.split(",")):
            raise SystemExit(f"the {label} benchmark's test run failed")
        if run.returncode != 0:  # every count measured; a teardown (the database flush) failed after
            say(f"{label}: every count was measured, but the test run reported an error after (see above)")
        return rows, time.monotonic() - started


def recovery_table(rows: list[dict]) -> list[str]:
    table = ["| sites on the lost host | all serving again (worst) | median site | requests | failed |",
             "|---:|---:|---:|---:|---:|"]
    return table + [f"| {r['sites']} | {r['worst']:.1f} s | {r['median']:.1f} s | {r['requests']} | {r['failed']} |"
                    for r in rows]


def main() -> None:
    rows, took = measure("failover", ["tests/integration/test_failover.py"], COUNTS,
                         {"counts": "FAILOVER_SITES", "results": "FAILOVER_RESULTS"})
    table = recovery_table(rows)
    write_section("failover", "Failover: a lost host's sites serving again elsewhere", "\n".join([
        "From `kill -9` of the host's agent (its containers keep running, as a partitioned host's) until each",
        "site's route names its new instance on another host and answers, with a load generator hitting every",
        "site through the edge throughout. Detection is HOST_DOWN_AFTER=10 s plus up to one 10 s beat tick;",
        "the restarts then run on the remaining hosts' agents (here: all on the one shared Docker daemon).",
        "",
        *table,
        "",
        f"The whole run (platform start, deploys, failovers) took {took:.0f} s.",
        "",
        "Command: `make bench` (or `python -m bench.failover`; `FAILOVER_BENCH_SITES=1,5,10` sets the counts).",
    ]))


if __name__ == "__main__":
    main()
