"""Tables and key-value blocks for people; with --json, the API's own JSON, unchanged."""
from __future__ import annotations

import json
import sys
from typing import Any, Callable, Iterable, Sequence


def show(args, data: Any, human: Callable[[Any], None]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=False))
    else:
        human(data)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value) or "-"
    text = str(value)
    # Timestamps: to the second, readable ("2026-11-29 11:16:18").
    if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":
        return text[:19].replace("T", " ")
    return text


def table(rows: Iterable[dict], columns: Sequence[tuple[str, str]], empty: str = "Nothing yet.") -> None:
    """columns: (key, heading) pairs."""
    rows = list(rows)
    if not rows:
        print(empty)
        return
    cells = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(heading), *(len(r[i]) for r in cells)) for i, (_, heading) in enumerate(columns)]
    print("  ".join(heading.upper().ljust(w) for (_, heading), w in zip(columns, widths)).rstrip())
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def fields(data: dict, keys: Sequence[tuple[str, str]]) -> None:
    width = max(len(label) for _, label in keys)
    for key, label in keys:
        print(f"{label + ':':<{width + 1}} {cell(data.get(key))}")


def note(message: str) -> None:
    """Progress and hints go to stderr, so stdout stays the command's answer."""
    print(message, file=sys.stderr, flush=True)
