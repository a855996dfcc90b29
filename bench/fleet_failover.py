"""`make bench` (fleet failover): how long the sites of a lost host take to serve again from another
host, against how many sites it ran, on separate Docker daemons.

It runs tests/integration/test_fleet_hosts.py's failover test (three hosts, each a dockerd in its own
network namespace with its own address and agent; tests/integration/support/hosts.py) once per
count. Unlike bench/failover.py (an agent killed, its containers still running), the whole host is
lost: its daemon, containerd, the containers and the agent are SIGKILLed, so requests to its sites
fail until they serve from another host; the failed-request column counts them.
"""
from __future__ import annotations

import os

from bench.failover import measure, recovery_table
from bench.report import write_section

COUNTS = os.environ.get("FLEET_FAILOVER_BENCH_SITES", "10,50")


def main() -> None:
    os.environ.setdefault("FLEET_AGENT_CONCURRENCY", "2")  # the agent's default; the tests run 1 per host
    rows, took = measure("fleet failover", ["tests/integration/test_fleet_hosts.py", "-k", "lost_hosts"], COUNTS,
                         {"counts": "FLEET_FAILOVER_SITES", "results": "FLEET_FAILOVER_RESULTS"})
    write_report(rows, took)


def write_report(rows: list[dict], took: float) -> None:
    table = recovery_table(rows)
    write_section("fleet-failover", "Fleet failover: a lost host on its own Docker daemon", "\n".join([
        "Three hosts, each a Docker daemon in its own network namespace with its own address and agent",
        f"(concurrency {os.environ['FLEET_AGENT_CONCURRENCY']}), its own data dir and slug cache. From",
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
