"""`make run`'s default database is SQLite, shared by the web's threads and the workers: writers to
one site must wait their turn, not fail with "database is locked" (issue 10: six env changes)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_six_config_changes_to_one_site_at_once_all_commit_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "tests/unit/sqlite_writers.py")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "errors=[] releases=6 env=6" in result.stdout, result.stdout + result.stderr
