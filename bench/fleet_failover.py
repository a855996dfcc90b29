"""`make bench` (fleet failover): how long the sites of a lost host take to serve again from another
host, against how many sites it ran, on separate Docker daemons.

It runs tests/integration/test_fleet_hosts.py's failover test (three hosts, each a dockerd in its own
network namespace with its own address and agent; tests/integration/support/hosts.py) once per
count. Unlike bench/failover.py (an agent killed, its containers still running), the whole host is
lost: its daemon, containerd, the containers and the agent are SIGKILLed, so requests to its sites
fail until they serve from another host; the failed-request column counts them.
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

COUNTS = os.environ.get("FLEET_FAILOVER_BENCH_SITES", "10,50")


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        results = Path(work) / "results.jsonl"
        started = time.monotonic()
        say(f"fleet failover: sites on the lost host {COUNTS}")
        run = subprocess.run(
            [sys.executable, "-m", "launcher.test", "tests/integration/test_fleet_hosts.py", "-q", "-s",
             "-k", "lost_hosts", "-p", "no:cacheprovider", f"--basetemp={work}/pytest"],
            cwd=BASE_DIR, env={**os.environ, "FLEET_FAILOVER_SITES": COUNTS, "FLEET_FAILOVER_RESULTS": str(results)})
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
        if len(rows) != len(COUNTS.split(",")):
            raise SystemExit("the fleet failover benchmark's test run failed")
        if run.returncode != 0:
            say("fleet failover: every count was measured, but the test run reported an error after (see above)")
        took = time.monotonic() - started
    write_report(rows, took)


def write_report(rows: list[dict], took: float) -> None:
    table = ["| sites on the lost host | all serving again (worst) | median site | requests | failed |",
             "|---:|---:|---:|---:|---:|"]
    table += [f"| {r['sites']} | {r['worst']:.1f} s | {r['median']:.1f} s | {r['requests']} | {r['failed']} |"
              for r in rows]
    write_section("fleet-failover", "Fleet failover: a lost host on its own Docker daemon", "\n".join([
        "Three hosts, each a Docker daemon in its own network namespace with its own address and agent. From",
        "SIGKILL of the lost host's daemon, containers and agent until each site's route names its new instance",
        "on another host and answers, with a load generator hitting every site through the edge throughout.",
        "Requests fail while the host is lost and not yet detected (HOST_DOWN_AFTER=10 s plus up to one beat).",
        "",
        *table,
        "",
        f"The whole run (platform start, three daemons, deploys, failovers) took {took:.0f} s.",
        "",
        "Command: `make bench` (or `python -m bench.fleet_failover`; `FLEET_FAILOVER_BENCH_SITES=10,50`).",
    ]))


if __name__ == "__main__":
    main()
