"""BENCHMARKS.md: each benchmark owns one section, replaced whole on every run."""
from __future__ import annotations

import platform
import re
import statistics
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nWritten by `make bench`; each section is replaced when its benchmark runs again.\n"


@dataclass
class PageTime:
    """One page of a page bench: its server time and its queries."""

    name: str
    url: str
    status: int
    median_ms: float
    p95_ms: float
    queries: int
    queries_small: int | None  # the same page with a tenth of the rows; None: not measured there
    public: bool = False  # a link from an e-mail: a 4xx for the seed's made-up token is its answer


def machine() -> str:
    import os

    return f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measured_commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return head.stdout.strip() or "unknown"


def write_section(key: str, title: str, body: str) -> None:
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"{begin}\n## {title}\n\nMeasured {stamp} on {machine()}.\n\n{body.strip()}\n{end}"
    text = REPORT.read_text() if REPORT.exists() else HEADER
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    REPORT.write_text(text)
