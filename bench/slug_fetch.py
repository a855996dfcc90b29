"""`make bench` (slug fetch): how long a host takes to fetch a slug from the control plane, per MB.

A host that shares no disk with the control plane fetches each slug it releases over the internal
channel (/internal/v1/slugs/<sha256>, sites/internal.py) into its own cache, checked by sha256
(hosting/slug_cache.py). This measures exactly that call, `slug_cache.ensure`, on a cache miss,
against the real web server (gunicorn with gevent workers, as the Procfile runs it) over loopback:
slugs of 1, 10 and 100 MB of random bytes (a slug is gzip: it does not compress further), the
median of several fetches each, and for reference the time to hash the same file from disk.

The measuring side runs in a process of its own with the environment a far host's agent has
(CONTROL_PLANE_URL, HOST_NAME, HOST_TOKEN from `add_host`, its own DATA_DIR).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import median, write_section
from core.data_dir import platform_account, secure_data_dir
from launcher import say
from launcher.processes import free_tcp_port, tcp_port_open
from launcher.stack import BASE_DIR, platform_programs
from launcher.supervisor import Supervisor
from launcher.throwaway import throwaway_services

SIZES_MB = [int(size) for size in os.environ.get("SLUG_FETCH_BENCH_MB", "1,10,100").split(",")]
RUNS = int(os.environ.get("SLUG_FETCH_BENCH_RUNS", "5"))
HOST = "bench-far"


def write_slug(slugs: Path, size_mb: int) -> str:
    """A slug of `size_mb` random bytes in the control plane's store; returns its sha256."""
    digest, path = hashlib.sha256(), slugs / ".writing"
    with open(path, "wb") as out:
        for _ in range(size_mb):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            out.write(chunk)
    path.chmod(0o644)
    path.rename(slugs / f"{digest.hexdigest()}.tar.gz")
    return digest.hexdigest()


def measure(slugs: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """In the far host's process: each slug fetched RUNS times into an empty cache."""
    import django  # here: only this process (the far host's) sets Django up, with the host's environment

    django.setup()
    from django.conf import settings

    from hosting import slug_cache
    from hosting.host_tokens import add_host

    settings.HOST_TOKEN = add_host(HOST, "127.0.0.1", settings.CONTROL_PLANE_URL).token
    first = next(iter(slugs.values()))
    slug_cache.ensure(first)  # untimed: the web workers' first requests load the application
    slug_cache.tarball(first).unlink()
    times: dict[str, dict[str, list[float]]] = {}
    for size, sha in slugs.items():
        fetch, digest = [], []
        for _ in range(RUNS):
            slug_cache.tarball(sha).unlink(missing_ok=True)
            started = time.perf_counter()
            path = slug_cache.ensure(sha)
            fetch.append(time.perf_counter() - started)
            started = time.perf_counter()
            with open(path, "rb") as fetched:
                assert hashlib.file_digest(fetched, "sha256").hexdigest() == sha
            digest.append(time.perf_counter() - started)
        times[size] = {"fetch": fetch, "hash": digest}
    times["0"] = {"fetch": [missing(slug_cache) for _ in range(RUNS)], "hash": [0.0]}
    return times


def missing(slug_cache) -> float:
    """One request for a slug the store does not have: the token's check and the request, no bytes."""
    started = time.perf_counter()
    try:
        slug_cache.ensure("0" * 64)
    except slug_cache.SlugUnavailable:
        return time.perf_counter() - started
    raise AssertionError("the control plane served a slug it does not have")


def main() -> None:
    started = time.monotonic()
    with throwaway_services("hosting-bench-slugs-") as env, tempfile.TemporaryDirectory() as work:
        port = free_tcp_port()
        env.update({"PORTAL_BIND": f"127.0.0.1:{port}", "HOST_NAME": "bench"})
        say("slug fetch: migrating, starting the web server")
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True)
        account = platform_account(env.get("PLATFORM_USER") or "hosting")
        data_dir = Path(env["DATA_DIR"])
        secure_data_dir(data_dir, account)
        slugs = {str(size): write_slug(data_dir / "slugs", size) for size in SIZES_MB}
        web = [program for program in platform_programs(env, account, data_dir) if program.name == "web"]
        supervisor = Supervisor(Path(work) / "supervisor", Path(work), web)
        supervisor.start(env)
        try:
            supervisor["web"].wait_until(lambda: tcp_port_open("127.0.0.1", port), 60, "the web server to listen")
            say(f"slug fetch: {', '.join(f'{size} MB' for size in SIZES_MB)}, {RUNS} fetches each")
            far = {**env, "DATA_DIR": str(Path(work) / "far-host"), "CONTROL_PLANE_URL": f"http://127.0.0.1:{port}",
                   "HOST_NAME": HOST, "DJANGO_SETTINGS_MODULE": "config.settings"}
            result = subprocess.run([sys.executable, "-m", "bench.slug_fetch", "--measure", json.dumps(slugs)],
                                    cwd=BASE_DIR, env=far, check=True, capture_output=True, text=True)
        finally:
            supervisor.stop()
    write_report(json.loads(result.stdout.splitlines()[-1]), time.monotonic() - started)


def write_report(times: dict[str, dict[str, list[float]]], took: float) -> None:
    table = ["| slug | fetch + verify, median | per MB | min-max | hashing it from disk, per MB |",
             "|---:|---:|---:|---:|---:|"]
    request_ms = median(times.pop("0")["fetch"]) * 1000
    ordered = sorted(times.items(), key=lambda item: int(item[0]))
    for size, runs in ordered:
        fetch_ms = median(runs["fetch"]) * 1000
        table.append(f"| {size} MB | {fetch_ms:.0f} ms | {fetch_ms / int(size):.1f} ms/MB | "
                     f"{min(runs['fetch']) * 1000:.0f}-{max(runs['fetch']) * 1000:.0f} ms | "
                     f"{median(runs['hash']) * 1000 / int(size):.1f} ms/MB |")
    write_section("slug-fetch", "Slug fetch: a host's cache miss over the internal channel", "\n".join([
        "`hosting.slug_cache.ensure` on a cache miss, as a far host's agent calls it before a release: GET",
        "/internal/v1/slugs/<sha256> with the host's token from the real web server (gunicorn, gevent workers)",
        "over loopback, streamed to a temporary file while hashed, sha256 checked, renamed into the cache.",
        f"Random bytes (a slug is gzip already), median of {RUNS} fetches each into an empty cache.",
        "",
        *table,
        "",
        marginal(ordered),
        f"For comparison, a request for a slug the store does not have (the token checked, a 404, no bytes) "
        f"takes {request_ms:.0f} ms.",
        "",
        f"The whole run (services, web server, {sum(SIZES_MB)} MB of slugs) took {took:.0f} s.",
        "",
        "Command: `make bench` (or `python -m bench.slug_fetch`; `SLUG_FETCH_BENCH_MB=1,10,100`, "
        "`SLUG_FETCH_BENCH_RUNS=5`).",
    ]))


def marginal(ordered: list[tuple[str, dict[str, list[float]]]]) -> str:
    """What one more MB costs, from the smallest and the largest slug's medians."""
    (small, fast), (large, slow) = ordered[0], ordered[-1]
    if int(large) == int(small):
        return ""
    per_mb = (median(slow["fetch"]) - median(fast["fetch"])) * 1000 / (int(large) - int(small))
    return (f"Each MB beyond the smallest slug costs {per_mb:.1f} ms ({1000 / per_mb:.0f} MB/s); the rest of "
            f"a fetch is a cost per request, about {median(fast['fetch']) * 1000 - per_mb * int(small):.0f} ms.")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(json.loads(sys.argv[2]))))
    else:
        main()
