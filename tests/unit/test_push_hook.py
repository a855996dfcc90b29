"""The push hook's relay: git's ref updates reach the web process, the build's output (any bytes)
and the exit status come back to git, and only the repository's own quarantine is passed on."""
from __future__ import annotations

import os
import subprocess
import sys

from sites import push_hook


def run_hook(channel: push_hook.HookChannel, stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", str(push_hook.CLIENT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env={**env, "HOSTING_HOOK_FD": str(channel.child_fd)}, pass_fds=(channel.child_fd,),
    )
    channel.start()
    out, _ = process.communicate(stdin.encode(), timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, out)


def test_the_hook_relays_the_updates_the_output_and_the_status(monkeypatch, settings, tmp_path):
    seen = {}

    def pre_receive(site_uuid, pusher, lines, out, quarantine):
        seen.update(site=site_uuid, pusher=pusher, lines=lines, env=quarantine)
        out.write("-----> building\n")
        out.write("       \x00 tenant bytes \x01x\n")  # the build's output may hold anything
        return 3

    monkeypatch.setattr(push_hook, "pre_receive", pre_receive)
    settings.GIT_ROOT = tmp_path
    repository = tmp_path / "abc.git"
    (repository / "objects" / "tmp_objdir-incoming-1").mkdir(parents=True)
    quarantine = str(repository / "objects" / "tmp_objdir-incoming-1")

    result = run_hook(push_hook.HookChannel("abc", "alice"), "0" * 40 + " " + "1" * 40 + " refs/heads/main\n",
                      {"GIT_OBJECT_DIRECTORY": quarantine, "GIT_QUARANTINE_PATH": "/etc"})

    assert result.returncode == 3
    assert result.stdout == b"-----> building\n       \x00 tenant bytes \x01x\n"
    assert seen["lines"] == ["0" * 40 + " " + "1" * 40 + " refs/heads/main"]
    assert (seen["site"], seen["pusher"]) == ("abc", "alice")
    assert seen["env"] == {"GIT_OBJECT_DIRECTORY": quarantine}  # /etc is not the repository's


def test_a_hook_that_crashes_rejects_the_push_with_a_sentence(monkeypatch, tmp_path):
    def pre_receive(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(push_hook, "pre_receive", pre_receive)

    result = run_hook(push_hook.HookChannel("abc", "alice"), "", {})

    assert result.returncode == 1
    assert b"could not take this push" in result.stdout and b"boom" not in result.stdout


def test_only_paths_inside_the_repositorys_objects_pass(tmp_path):
    repository = tmp_path / "r.git"
    (repository / "objects" / "q").mkdir(parents=True)
    os.symlink("/etc", repository / "objects" / "link")
    env = {
        "GIT_OBJECT_DIRECTORY": str(repository / "objects" / "q"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": f"{repository / 'objects'}:{repository / 'objects' / '..' / '..'}",
        "GIT_QUARANTINE_PATH": str(repository / "objects" / "link"),
    }
    assert push_hook.quarantine_env(env, repository) == {"GIT_OBJECT_DIRECTORY": str(repository / "objects" / "q")}


def test_without_its_socket_the_hook_refuses():
    result = subprocess.run([sys.executable, "-I", "-S", str(push_hook.CLIENT)], input=b"", capture_output=True,
                            env={}, timeout=30)
    assert result.returncode == 1 and b"no connection to the platform" in result.stdout
