"""The route changes the running edge took since its routes file was last written.

A switch reaches the running nginx through its control socket and does not rewrite the routes file
(a switch must cost the same at 10,000 sites); nginx reads that file only when it starts. So the
changes are also appended here, under the edge's lock. An edge that starts while the database is
down cannot write a fresh routes file: it starts from the old one with these changes replayed, so
it serves what the previous edge served, not what it served at the last full apply. Writing the
routes file from the database empties the journal.

The file is root's and the platform group's (0660 in the control directory, which admits that
group only): the web and control worker append to it, the edge's root processes read and empty it.
"""
from __future__ import annotations

import os
from pathlib import Path

ADDED, REMOVED = "+", "-"


class RouteJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_directory(cls, control_dir: Path) -> "RouteJournal":
        return cls(control_dir / "routes.journal")

    def create(self, gid: int | None) -> None:
        """Made by root with the control directory, so the platform's processes can append."""
        if not self.path.exists():
            self.path.touch(mode=0o600)
        if os.geteuid() == 0 and gid is not None:
            os.chown(self.path, 0, gid, follow_symlinks=False)
            self.path.chmod(0o660)

    def record(self, removed: list[str], changed: list[str]) -> None:
        entries = [f"{REMOVED} {key}" for key in removed] + [f"{ADDED} {line}" for line in changed]
        if not entries or not self.path.exists():
            return  # no journal: the edge was set up before it had one, and writes the file at start
        with open(self.path, "a") as journal:
            journal.write("\n".join(entries) + "\n")

    def clear(self) -> None:
        if self.path.exists():
            os.truncate(self.path, 0)

    def replayed(self, routes_text: str) -> str:
        """`routes_text` (one line per key: a hostname or verify:<hostname>) with the changes applied."""
        table = {line.split(" ", 1)[0]: line for line in routes_text.splitlines() if line.strip()}
        entries = self.path.read_text().splitlines() if self.path.exists() else []
        for entry in entries:
            kind, _, rest = entry.partition(" ")
            key = rest.split(" ", 1)[0]
            if kind == REMOVED:
                table.pop(key, None)
            elif kind == ADDED and key:
                table[key] = rest
        return "\n".join(table.values()) + "\n"
