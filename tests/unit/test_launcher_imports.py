"""`make run`, `make test` and `make bench` import the launcher (and the benches) before Django is
set up: none of those modules may load a model on import, or the command fails before it starts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["launcher.run", "launcher.test", "launcher.upgrade", "bench.deploys",
                                    "bench.fleet_failover", "bench.slug_fetch"])
def test_it_imports_the_commands_entry_modules_without_django_set_up(module):
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    imported = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr[-2000:]
