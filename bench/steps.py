"""Where a push's time goes: the steps of one deployment, from timestamps the pipeline already
records (the Deployment row's created_at, started_at, build_finished_at and finished_at, and the
deployment log's lines, each stamped by Redis when it was written: a stream entry's id is its
millisecond time), between the moment `git push` started and the moment it returned."""
from __future__ import annotations

from datetime import datetime

from bench.report import median
from core.redis_client import redis_client

# Each step ends at a mark: a row's timestamp or the first log line that starts with a prefix.
# A mark the pipeline did not record (a line reworded, a step merged) leaves its step out: the
# next step then covers both.
STEPS: list[tuple[str, tuple[str, str]]] = [
    ("push received (git client, auth, receive-pack, the hook starts)", ("row", "created_at")),
    ("build task started (queue to the agent)", ("line", "-----> Receiving source")),
    ("source unpacked, build container ran", ("line", "-----> Compressing the slug")),
    ("slug packed and stored, release made", ("row", "build_finished_at")),
    ("start task started (queue to the agent)", ("line", "-----> Starting ")),
    ("container started and answering HTTP", ("line", "       It answers HTTP")),
    ("switched: edge route changed, deployment succeeded", ("row", "finished_at")),
    ("git push returned (the hook's log stream ends, git finishes)", ("end", "")),
]


def _seconds(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def log_line_times(redis_url: str, deployment_id: int) -> list[tuple[float, str]]:
    client = redis_client(redis_url)
    try:
        entries = client.xrange(f"deploylog:{deployment_id}")
    finally:
        client.close()
    return [(int(entry_id.split(b"-")[0]) / 1000, fields[b"l"].decode(errors="replace")) for entry_id, fields in entries]


def step_times(deployment: dict, lines: list[tuple[float, str]], sent: float, returned: float) -> dict[str, float]:
    """Each step's seconds for one push (`sent` and `returned`: the push's wall-clock start and end)."""
    durations, previous = {}, sent
    for name, (kind, key) in STEPS:
        if kind == "row":
            mark = _seconds(deployment.get(key))
        elif kind == "line":
            mark = next((at for at, text in lines if text.startswith(key)), None)
        else:
            mark = returned
        if mark is None:
            continue
        durations[name] = max(0.0, mark - previous)
        previous = mark
    return durations


def steps_table(runs: dict[str, list[dict[str, float]]]) -> str:
    """A markdown table: the median of each step per kind of push (`runs`: kind -> one dict per push)."""
    kinds = list(runs)
    lines = ["| step | " + " | ".join(f"{kind}, median" for kind in kinds) + " |",
             "|---|" + "---|" * len(kinds)]
    for name, _ in STEPS:
        cells = []
        for kind in kinds:
            values = [run[name] for run in runs[kind] if name in run]
            cells.append(f"{median(values):.2f} s" if values else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [f"{median([sum(run.values()) for run in runs[kind]]):.2f} s" if runs[kind] else "-" for kind in kinds]
    lines.append("| **total (git push to returned)** | " + " | ".join(totals) + " |")
    return "\n".join(lines)
