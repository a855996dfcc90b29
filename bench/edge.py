"""`make bench` (edge): the edge at 100, 1,000 and 10,000 sites, side by side in one run.

- apply: render the config from the database + `nginx -t` + reload, until the workers serve it;
- memory of the edge's processes after the apply;
- switch: from a deploy's route change to the first request the new instance serves;
- throughput and p99 latency through the edge against the same container directly (wrk, loopback).
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench.report import write_section
from launcher import say
from launcher.processes import ManagedProcess, free_tcp_port, tcp_port_open
from launcher.stack import BASE_DIR
from launcher.throwaway import throwaway_services

SIZES = [int(n) for n in os.environ.get("BENCH_EDGE_SIZES", "100,1000,10000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))


def serve_text(port: int, text: bytes) -> ThreadingHTTPServer:
    """A tiny upstream on loopback answering `text` (stands in for two releases of one site)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def edge_memory_kib(prefix: Path) -> int:
    """Proportional set size of the edge's master and workers (shared pages counted once)."""
    master = int((prefix / "run" / "nginx.pid").read_text())
    pids = [master] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == master]
    total = 0
    for pid in pids:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        total += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1))
    return total


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def wrk(url: str, host: str) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) with 2 threads and 32 connections."""
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{WRK_SECONDS}s", "--latency", "-H", f"Host: {host}", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99


def run(edge_port: int) -> str:
    from django.db import transaction

    from hosting.engine import ContainerEngine
    from hosting.spec import ContainerSpec, ResourceLimits
    from hosting.readiness import HealthCheck, wait_until_healthy
    from hosting.images import runtime_image
    from proxy import services
    from proxy.edge import EdgeNginx
    from proxy.models import Route

    edge = EdgeNginx.from_settings()
    old_port, new_port = free_tcp_port(), free_tcp_port()
    servers = [serve_text(old_port, b"old"), serve_text(new_port, b"new")]
    host = "switch.apps.localhost"
    switch_group = uuid.uuid4().hex  # a route group is a site's uuid
    services.set_routes(switch_group, [host], [f"127.0.0.1:{old_port}"], "live")
    rows = []
    created = 1
    for size in SIZES:
        say(f"{size} sites")
        Route.objects.bulk_create([
            # Each its own address (an address belongs to one site); nothing listens there.
            Route(hostname=f"site{n}.apps.localhost", group=f"{n:032x}", upstreams=[f"127.0.0.{2 + n // 60000}:{1024 + n % 60000}"],
                  status="live")
            for n in range(created, size)
        ], batch_size=2000)
        created = size
        applies = []
        for _ in range(RUNS):
            started = time.perf_counter()
            services.apply_edge()
            applies.append(time.perf_counter() - started)
        memory = edge_memory_kib(edge.prefix)
        switches = []
        for run_number in range(RUNS):
            target = new_port if run_number % 2 == 0 else old_port
            body = b"new" if target == new_port else b"old"
            started = time.perf_counter()
            with transaction.atomic():
                services.set_routes(switch_group, [host], [f"127.0.0.1:{target}"], "live")
            while requests.get(f"http://127.0.0.1:{edge_port}/", headers={"Host": host}, timeout=5).content != body:
                pass
            switches.append(time.perf_counter() - started)
        # Routed to its own (silent) address: 502, not the 404 of an unknown host.
        assert requests.get(f"http://127.0.0.1:{edge_port}/", headers={"Host": f"site{size - 1}.apps.localhost"}).status_code == 502
        rows.append(f"| {size:,} | {statistics.median(applies):.3f} s | {memory / 1024:.1f} MiB | "
                    f"{statistics.median(switches) * 1000:.1f} ms | {max(switches) * 1000:.1f} ms |")
    for server in servers:
        server.shutdown()

    say("throughput: a static site container directly and through the edge")
    engine = ContainerEngine()
    site_dir = Path(tempfile.mkdtemp(prefix="hosting-bench-site-"))
    (site_dir / "index.html").write_text("<html><body>" + "x" * 2000 + "</body></html>\n")
    for path in (site_dir, site_dir / "index.html"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    port = free_tcp_port()
    spec = ContainerSpec(site="benchstatic", release="v1", instance="web-1", image=runtime_image("static"),
                         command=("hosting-web-static",), limits=ResourceLimits(512, 2000, 256), slug_dir=site_dir,
                         data_dir=None, host_port=port)
    from django.conf import settings

    spec = ContainerSpec(**{**spec.__dict__, "network": settings.SITE_NETWORK})
    engine.start(spec)
    try:
        wait_until_healthy(engine, spec.name, "127.0.0.1", port, spec.container_port, HealthCheck(), timeout=30)
        container_ip = engine.inspect(spec.name)["NetworkSettings"]["Networks"][settings.SITE_NETWORK]["IPAddress"]
        with transaction.atomic():  # as for an instance on the edge's own machine (Instance.upstream)
            services.set_routes(uuid.uuid4().hex, ["benchstatic.apps.localhost"], [f"{container_ip}:5000"], "live")
        own_address = wrk(f"http://{container_ip}:5000/", "benchstatic.apps.localhost")
        through_edge = wrk(f"http://127.0.0.1:{edge_port}/", "benchstatic.apps.localhost")
        published = wrk(f"http://127.0.0.1:{port}/", "benchstatic.apps.localhost")
    finally:
        engine.remove(spec.name)
    ratio = through_edge[0] / own_address[0]
    added = through_edge[1] - own_address[1]

    return "\n".join([
        "Routes live in a Lua shared table in nginx: a switch sends the one changed route "
        "through the control socket, without a reload. An apply renders the whole config, checks it with "
        "`nginx -t`, moves it into place and reloads, returning once the new workers answer.",
        "",
        f"| sites | apply (render + check + reload), median of {RUNS} | edge memory (PSS, master + workers) | "
        f"switch to first request on the new instance, median of {RUNS} | switch, worst |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Goals: apply at most 1 s at 1,000 sites and 2 s at 10,000; switch at most 100 ms at 10,000 sites.",
        "",
        f"Throughput, wrk -t2 -c32 -d{WRK_SECONDS}s on loopback against a static site container (nginx, a 2 KB page; "
        "load generator, edge and container share the 2 cores):",
        "",
        "| path | requests/s | p99 latency |",
        "|---|---|---|",
        f"| direct, the container's own address | {own_address[0]:,.0f} | {own_address[1]:.2f} ms |",
        f"| through the edge (upstream keepalive to the container's address) | {through_edge[0]:,.0f} | {through_edge[1]:.2f} ms |",
        f"| for reference: direct, the published port (Docker's userland port proxy) | {published[0]:,.0f} | {published[1]:.2f} ms |",
        "",
        f"Through the edge: {ratio:.0%} of the direct throughput to the same container (goal at least 60 %), "
        f"{added:+.2f} ms at p99 (goal at most +5 ms).",
        "",
        "Command: `make bench` (or `python -m bench.edge`; `BENCH_EDGE_SIZES`, `BENCH_RUNS`, `BENCH_WRK_SECONDS`).",
    ])


def main() -> int:
    with throwaway_services("hosting-bench-edge-") as env:
        edge_port, https_port = free_tcp_port(), free_tcp_port()
        env.update({"PROXY_HTTP_PORT": str(edge_port), "PROXY_HTTPS_PORT": str(https_port)})
        os.environ.update(env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        from django.core.management import call_command

        from hosting.engine import ContainerEngine
        from hosting.host_setup import prepare_host

        call_command("migrate", verbosity=0)
        prepare_host(ContainerEngine())
        log_dir = Path(env["DATA_DIR"]) / "log"
        edge = ManagedProcess("edge", [sys.executable, "manage.py", "edge"], log_dir / "edge.log", env=env, cwd=str(BASE_DIR))
        try:
            edge.wait_until(lambda: tcp_port_open("127.0.0.1", edge_port), 30, "the edge to listen")
            body = run(edge_port)
        finally:
            edge.stop()
    write_section("edge", "Edge: apply, memory, switch and throughput", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
