"""scripts/install.sh ends with one clear sentence when Docker cannot be installed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
TOOLS = ["bash", "id", "mktemp", "sort", "rm", "chmod", "sha256sum", "cut", "touch", "ls", "dirname", "cat", "grep", "dpkg-query"]


def run_without_packages(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """install.sh on a PATH with the basic tools but no dockerd (nor chromium), and an apt-get that
    cannot install anything; apt-get's arguments are logged to tmp_path/apt-get.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    log = tmp_path / "apt-get.log"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {log}\n[ "$1" = update ] && exit 0\necho "E: Unable to locate package" >&2\nexit 100\n')
    (bin_dir / "apt-cache").write_text("#!/bin/sh\nexit 100\n")
    for fake in ("apt-get", "apt-cache"):
        (bin_dir / fake).chmod(0o755)
    env = {"PATH": str(bin_dir), "POLICY_RC_D": str(tmp_path / "policy-rc.d"), "HOME": str(tmp_path)}
    return subprocess.run(["bash", str(BASE_DIR / "scripts" / "install.sh"), *args], env=env, capture_output=True, text=True, timeout=60)


def test_it_says_docker_could_not_be_installed(tmp_path):
    result = run_without_packages(tmp_path)

    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: Docker could not be installed: apt-get install docker.io failed"), result.stderr
    assert not (tmp_path / "policy-rc.d").exists()


def test_it_installs_chromium_for_the_tests_only(tmp_path):
    run_without_packages(tmp_path / "run")
    run_without_packages(tmp_path / "test", "--test")

    def installed(run: str) -> list[str]:
        lines = (tmp_path / run / "apt-get.log").read_text().splitlines()
        return next(line for line in lines if line.startswith("install")).split()

    assert "chromium" not in installed("run")
    assert "chromium" in installed("test") and "docker.io" in installed("test")
