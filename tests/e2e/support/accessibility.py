"""axe-core in the browser: a page passes when it has no serious or critical violation."""
from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page: Page) -> list[dict]:
    """Every violation axe-core finds on the page as it is now (all impacts)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    results = page.evaluate("() => window.axe.run(document, {resultTypes: ['violations']})")
    return results["violations"]


def blocking(violations: list[dict]) -> list[dict]:
    return [violation for violation in violations if violation.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    """One paragraph per violation: its rule, impact, what it asks and every node it found."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation.get('impact')}): {violation['help']} <{violation.get('helpUrl', '')}>")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {json.dumps(node['target'])}: {summary}")
    return "\n".join(lines)
