"""scripts/install.sh ends with one clear sentence when Docker cannot be installed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
TOOLS = ["bash", "id", "mktemp", "sort", "rm", "chmod", "sha256sum", "cut", "touch", "ls", "dirname", "cat", "grep", "dpkg-query"]


def test_it_says_docker_could_not_be_installed(tmp_path):
    # A PATH with the basic tools but no dockerd, and an apt-get that cannot install anything.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "apt-get").write_text('#!/bin/sh\n[ "$1" = update ] && exit 0\necho "E: Unable to locate package" >&2\nexit 100\n')
    (bin_dir / "apt-cache").write_text("#!/bin/sh\nexit 100\n")
    for fake in ("apt-get", "apt-cache"):
        (bin_dir / fake).chmod(0o755)
    env = {"PATH": str(bin_dir), "POLICY_RC_D": str(tmp_path / "policy-rc.d"), "HOME": str(tmp_path)}

    result = subprocess.run(["bash", str(BASE_DIR / "scripts" / "install.sh")], env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: Docker could not be installed: apt-get install docker.io failed"), result.stderr
    assert not (tmp_path / "policy-rc.d").exists()
