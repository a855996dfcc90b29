"""Where a deployment's time goes: the steps of its log, timed by the deployment's Redis stream.

Every line of a deployment's log is a Redis stream entry whose id is the millisecond it was
written, so the gaps between the platform's own lines are the steps' durations, measured where
they happen (the web, the agent, the control worker) without adding anything to the pipeline.
The first step runs from the start of `git push`; the last, from the last line to the git hook
returning to the client.
"""
from __future__ import annotations

import re

from bench.report import median
from core.redis_client import redis_client

# The platform's own lines, in the order a push writes them, and the step each one ends. Lines
# the app's build prints are not listed: their time counts towards the next platform line.
STEPS = [
    (re.compile(r"-----> Deployment #"), "git push until the deployment is recorded (receive, hook, web)"),
    (re.compile(r"-----> Receiving source"), "build task reached the agent"),
    (re.compile(r"       \d+ files$"), "source unpacked (container as the site's uid)"),
    (re.compile(r"-----> .* app \((detected|set for the site)\)"), "manifest read, runtime chosen"),
    (re.compile(r"-----> Web process"), "build container (dependencies, build scripts)"),
    (re.compile(r"       [\d.]+ MB, sha256"), "slug exported, compressed, stored"),
    (re.compile(r"-----> Released"), "release recorded, start task sent"),
    (re.compile(r"-----> Starting"), "start task reached the agent; slug unpacked, volume ready"),
    (re.compile(r"       It (answers HTTP|is healthy)"), "container started and healthy"),
    (re.compile(r"-----> v\d+ is live"), "switch task; routes switched"),
]
AFTER_LAST = "the hook reporting back to git"


def step_of(line: str) -> str | None:
    for pattern, name in STEPS:
        if pattern.match(line):
            return name
    return None


def deployment_steps(redis_url: str, deployment_id: int, pushed_at: float, returned_at: float) -> dict[str, float]:
    """Seconds per step of one deployment (steps it did not log are absent)."""
    client = redis_client(redis_url)
    try:
        entries = client.xrange(f"deploylog:{deployment_id}")
    finally:
        client.close()
    steps: dict[str, float] = {}
    previous = pushed_at
    for entry_id, fields in entries:
        if b"l" not in fields:
            continue  # the end mark
        name = step_of(fields[b"l"].decode(errors="replace"))
        if name is None:
            continue
        at = int(entry_id.split(b"-")[0]) / 1000
        steps[name] = steps.get(name, 0.0) + at - previous
        previous = at
    steps[AFTER_LAST] = returned_at - previous
    return steps


def table(runs: list[dict[str, float]]) -> list[str]:
    """Median seconds per step over the runs, in pipeline order, as markdown rows."""
    order = [name for _, name in STEPS] + [AFTER_LAST]
    rows = ["| step | median | share |", "|---|---|---|"]
    medians = {name: median([run.get(name, 0.0) for run in runs]) for name in order if any(name in r for r in runs)}
    total = sum(medians.values()) or 1.0
    for name, seconds in medians.items():
        rows.append(f"| {name} | {seconds * 1000:.0f} ms | {seconds / total:.0%} |")
    rows.append(f"| total (sum of medians) | {total * 1000:.0f} ms | |")
    return rows
