"""A site's repository behind one class: create, export a commit within a size cap, measure, remove;
and no other module of the platform builds a git command line."""
from __future__ import annotations

import ast
import subprocess
import tarfile
from pathlib import Path

import pytest

from sites.git import Repository, SourceTooLarge

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "config", "core", "hosting", "proxy", "sites", "support", "backups")
# The platform's own checkout (which commit made a backup) is not a site's repository.
ALLOWED = {"sites/git.py", "backups/services.py"}


@pytest.fixture
def repository(settings, tmp_path) -> Repository:
    settings.GIT_ROOT = tmp_path / "git"
    return Repository("0123456789abcdef0123456789abcdef")


def _commit_into(repository: Repository, tmp_path: Path, files: dict[str, bytes]) -> str:
    work = tmp_path / "work"
    work.mkdir()
    for name, content in files.items():
        (work / name).write_bytes(content)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=work,
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "--quiet", "--initial-branch=main")
    git("add", ".")
    git("commit", "--quiet", "-m", "first")
    git("push", "--quiet", str(repository.path), "main")
    return git("rev-parse", "HEAD")


def test_it_creates_a_bare_repository_on_main_once(repository):
    assert repository.create() == repository.path
    assert (repository.path / "HEAD").read_text().strip() == "ref: refs/heads/main"
    (repository.path / "description").write_text("kept")
    repository.create()  # a second call leaves the existing repository alone
    assert (repository.path / "description").read_text() == "kept"


def test_it_exports_a_commit_within_the_cap_and_nothing_past_it(repository, tmp_path):
    repository.create()
    commit = _commit_into(repository, tmp_path, {"index.html": b"hello\n", "big.bin": b"x" * 200_000})
    tar_path = tmp_path / "source.tar"
    repository.export_commit(commit, tar_path, max_bytes=10 * 2**20)
    with tarfile.open(tar_path) as tar:
        assert sorted(tar.getnames()) == ["big.bin", "index.html"]
    assert repository.size() > 0
    too_big = tmp_path / "too-big.tar"
    with pytest.raises(SourceTooLarge):
        repository.export_commit(commit, too_big, max_bytes=100_000)
    assert not too_big.exists()


def test_it_removes_the_repository(repository):
    repository.create()
    repository.remove()
    assert not repository.path.exists()
    repository.remove()  # removing again (a retried task) is fine


def _git_command_lines(path: Path) -> list[int]:
    """Lines where a list starting with the string "git" is written: a git command line."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant)
            and node.elts[0].value == "git"]


def test_only_the_repository_class_builds_git_command_lines(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('import subprocess\nsubprocess.run(["git", "gc"])\n')
    assert _git_command_lines(sample) == [2]  # the check can find one
    found = {str(path.relative_to(ROOT)) for app in APPS for path in (ROOT / app).rglob("*.py")
             if _git_command_lines(path)}
    assert found <= ALLOWED and "sites/git.py" in found
