"""`make bench` (deploys): push-to-live of a static and a Python site, and a config-only release.

Everything runs side by side in one run on this machine: throwaway PostgreSQL and Redis, the
platform's own processes from the Procfile, real git pushes through the portal. Each figure is
the median of several runs; the first push of each site (cold) is reported on its own.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench import timeline
from bench.report import median, write_section
from launcher import say
from launcher.processes import free_tcp_port
from launcher.stack import BASE_DIR, start_platform, stop_platform, wait_until_ready
from launcher.throwaway import throwaway_services

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
APPS = BASE_DIR / "tests" / "apps"


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def git(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "HOME": str(work), "GIT_AUTHOR_NAME": "Bench",
           "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    return subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True, text=True)


class Bench:
    def __init__(self, env: dict[str, str], portal: str, edge_port: int, token: str, work: Path) -> None:
        self.env, self.portal, self.edge_port, self.token, self.work = env, portal, edge_port, token, work
        self.steps: dict[str, list[dict[str, float]]] = {}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.portal}/api/v1/{path}", timeout=120,
                                    headers={"Authorization": f"Bearer {self.token}"}, **kwargs)
        response.raise_for_status()
        return response

    def delete_sites(self) -> None:
        """Delete the benchmark's sites and wait until their containers are gone."""
        from hosting.engine import ContainerEngine

        for site in ("bench-static", "bench-python"):
            requests.delete(f"{self.portal}/api/v1/sites/{site}/", headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
        engine = ContainerEngine()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(engine.list_site_containers(s) for s in ("bench-static", "bench-python")):
            time.sleep(0.5)
        for site in ("bench-static", "bench-python"):
            for container in engine.list_site_containers(site):
                engine.remove(container.name)
        engine.close()

    def served(self, site: str) -> str:
        return requests.get(f"http://127.0.0.1:{self.edge_port}/", headers={"Host": f"{site}.apps.localhost"}, timeout=10).text

    def new_site(self, name: str, app: str) -> Path:
        self.api("POST", "sites/", json={"name": name})
        repo = self.work / name
        shutil.copytree(APPS / app, repo)
        git(repo, "init", "-q", "-b", "main")
        return repo

    def timed_push(self, site: str, repo: Path, marker: str, change) -> float:
        change(marker)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", marker)
        url = f"http://bench:{self.token}@{self.portal.removeprefix('http://')}/git/{site}.git"
        started, pushed_at = time.perf_counter(), time.time()
        git(repo, "push", "-q", url, "HEAD:main")
        elapsed, returned_at = time.perf_counter() - started, time.time()
        latest = max(deployment["id"] for deployment in self.api("GET", f"sites/{site}/deployments/").json())
        self.steps.setdefault(site, []).append(
            timeline.deployment_steps(self.env["REDIS_URL"], latest, pushed_at, returned_at))
        if marker not in self.served(site):
            raise SystemExit(f"{site} does not serve {marker!r} after its push")
        return elapsed

    def timed_config_release(self, site: str, value: str) -> float:
        started = time.perf_counter()
        deployment = self.api("POST", f"sites/{site}/env/", json={"vars": {"GREETING": value}}).json()["id"]
        while self.api("GET", f"sites/{site}/deployments/{deployment}/").json()["state"] not in ("succeeded", "failed"):
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        if value not in self.served(site):
            raise SystemExit(f"{site} does not serve the new config {value!r}")
        return elapsed


def run(bench: Bench) -> str:
    static = bench.new_site("bench-static", "static")
    index = static / "public" / "index.html"
    static_change = lambda marker: index.write_text(f"<h1>hello from static</h1><p>{marker}</p>\n")  # noqa: E731
    python = bench.new_site("bench-python", "python")
    app = python / "app.py"
    original = app.read_text()
    python_change = lambda marker: app.write_text(original.replace("hello from python", f"hello from python {marker}"))  # noqa: E731

    say("static site: first push")
    static_cold = bench.timed_push("bench-static", static, "push-0", static_change)
    say("python site: first push (cold dependency cache)")
    python_cold = bench.timed_push("bench-python", python, "push-0", python_change)
    static_warm, python_warm, config = [], [], []
    for run_number in range(1, RUNS + 1):
        say(f"round {run_number} of {RUNS}")
        static_warm.append(bench.timed_push("bench-static", static, f"push-{run_number}", static_change))
        python_warm.append(bench.timed_push("bench-python", python, f"push-{run_number}", python_change))
        config.append(bench.timed_config_release("bench-python", f"config-{run_number}"))

    def row(what: str, values: list[float], goal: str) -> str:
        return f"| {what} | {median(values):.2f} s | {min(values):.2f} s | {max(values):.2f} s | {goal} |"

    return "\n".join([
        f"Push-to-live is the wall time of `git push` (the hook returns once the new release serves), "
        f"{RUNS} runs each, interleaved. Config release: from the API call until the deployment succeeded.",
        "",
        "| what | median | min | max | goal |",
        "|---|---|---|---|---|",
        row("static site, git push to live", static_warm, "at most 1.5 s"),
        row("Python site, git push to live, unchanged requirements (warm cache)", python_warm, "at most 2.5 s"),
        row("config-only release (env var set, no build)", config, "-"),
        "",
        "Where the time of a warm push goes (median per step; `bench/timeline.py` times the steps by "
        "their deployment log's lines):",
        "",
        "Static site:",
        "",
        *timeline.table(bench.steps["bench-static"][1:]),
        "",
        "Python site:",
        "",
        *timeline.table(bench.steps["bench-python"][1:]),
        "",
        f"First pushes (cold): static {static_cold:.2f} s, Python {python_cold:.2f} s (venv built and pip install of gunicorn).",
        "",
        "Command: `make bench` (or `python -m bench.deploys`; `BENCH_RUNS` sets the number of runs).",
    ])


def main() -> int:
    with throwaway_services("hosting-bench-") as env:
        portal_port, edge_port = free_tcp_port(), free_tcp_port()
        env.update({"PORTAL_BIND": f"127.0.0.1:{portal_port}", "PROXY_HTTP_PORT": str(edge_port),
                    "HOST_NAME": "bench", "DRAIN_SECONDS": "2"})
        say("Migrating the benchmark database")
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "create_org", "bench", "--owner", "bench@example.com", "--plan", "standard")
        token = manage(env, "create_token", "bench@example.com").strip()
        work = Path(tempfile.mkdtemp(prefix="hosting-bench-repos-"))
        processes = start_platform(env, work / "logs")
        bench = Bench(env, f"http://127.0.0.1:{portal_port}", edge_port, token, work)
        try:
            wait_until_ready(processes, portal_port, edge_port)
            body = run(bench)
        finally:
            bench.delete_sites()
            stop_platform(processes)
            shutil.rmtree(work, ignore_errors=True)
    write_section("deploys", "Deploys: push to live", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
