"""The one subprocess runner: an argument list, a timeout, and an error that says what was being done."""
from __future__ import annotations

import pytest

from core.commands import CommandFailed, run
from core.errors import PlatformError


def test_it_returns_what_the_program_printed():
    assert run(["sh", "-c", "echo out; echo err >&2"], doing="saying", timeout=10).stdout == "out\n"


def test_a_failure_names_what_was_being_done_and_the_last_line():
    with pytest.raises(CommandFailed, match=r"^applying the firewall failed: second$") as failure:
        run(["sh", "-c", "echo first >&2; echo second >&2; exit 3"], doing="applying the firewall", timeout=10)
    assert failure.value.returncode == 3 and isinstance(failure.value, PlatformError)


def test_without_check_the_caller_reads_the_status():
    assert run(["sh", "-c", "exit 4"], doing="asking", timeout=10, check=False).returncode == 4


def test_a_hung_program_and_a_missing_one_fail_clearly():
    with pytest.raises(CommandFailed, match="did not finish within 0.2 s"):
        run(["sleep", "5"], doing="waiting", timeout=0.2)
    with pytest.raises(CommandFailed, match="is not installed"):
        run(["no-such-program-here"], doing="running", timeout=10)


def test_arguments_are_never_a_shell_line():
    assert run(["echo", "$(id); rm -rf /"], doing="echoing", timeout=10).stdout == "$(id); rm -rf /\n"
