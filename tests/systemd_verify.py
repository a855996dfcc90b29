"""systemd's own check of unit files, for the tests of the production install (launcher.systemd)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def verify(unit_dir: Path) -> str:
    # The generated units find each other in unit_dir; docker.service, network-online.target and
    # multi-user.target come from the machine's own unit path (the trailing colon keeps it).
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *sorted(map(str, unit_dir.iterdir()))],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"})
    # It exits 0 even on a unit it could not parse: what it prints is the verdict.
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else f" (exit {result.returncode})")
