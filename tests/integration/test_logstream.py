"""A deployment's log in Redis: a follower (the git hook) stops at the end mark at once."""
from __future__ import annotations

import pytest

from sites.logstream import DeploymentLog

pytestmark = pytest.mark.integration


def test_a_follower_stops_at_the_end_mark_without_asking_the_database_again():
    log = DeploymentLog(987654321)
    log._redis.delete("deploylog:987654321")
    asked = []

    def finished() -> bool:
        asked.append(1)
        return False  # the row never says finished: only the mark can end the follow

    try:
        log.write("-----> one")
        log.write("       two")
        log.end()
        assert list(log.follow(finished, timeout=30)) == ["-----> one", "       two"]
        assert len(asked) == 1
        assert log.text() == "-----> one\n       two\n"
    finally:
        log._redis.delete("deploylog:987654321")
        log.close()
