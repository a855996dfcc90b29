"""Screenshots of a test's steps, numbered in the order they were taken."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page


class Screenshots:
    """Saves `<folder>/<NN>-<name>.png`; the numbers tell the story in a file listing."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def __call__(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "step"
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path
