"""PushReply: git's own line about its size limit, in a push's side-band answer, becomes the plan's
sentence; everything else passes unchanged, packet by packet, however the chunks are cut."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from sites.push_reply import PushReply, limit_message, progress_packets, refusal


def pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


GIT_SAYS = pkt(b"\x02fatal: pack exceeds maximum allowed size (1.00 MiB)\n")
REPORT = pkt(b"\x01" + pkt(b"unpack unpack-objects abnormal exit\n") + pkt(b"ng refs/heads/main unpacker error\n") + b"0000")
PLAN = SimpleNamespace(max_push_mb=1, label="Small")


def through(stream: bytes, cut: int) -> bytes:
    chunks = [stream[i:i + cut] for i in range(0, len(stream), cut)]
    out = list(PushReply([None, *chunks], limit_message(PLAN)))
    assert out[0] is None  # git being quiet still reaches the stream's watch
    return b"".join(c for c in out if c)


@pytest.mark.parametrize("cut", [1, 3, 7, 4096])
def test_gits_limit_line_becomes_the_plans(cut):
    build_log = pkt(b"\x02-----> Building\n")
    out = through(build_log + GIT_SAYS + REPORT + b"0000", cut)
    assert b"pack exceeds maximum allowed size" not in out
    assert out == build_log + progress_packets(limit_message(PLAN)) + REPORT + b"0000"
    assert b"1 MB per push is the limit of the Small plan" in out


def test_anything_else_passes_unchanged():
    stream = pkt(b"\x02remote: building\n") + REPORT + b"0000"
    assert through(stream, 5) == stream
    assert through(b"not pkt-lines at all", 3) == b"not pkt-lines at all"


def test_a_refusal_rejects_each_ref_with_side_band_and_without():
    def commands(caps: bytes) -> bytes:
        return (pkt(b"0" * 40 + b" " + b"1" * 40 + b" refs/heads/main\0" + caps + b"\n")
                + pkt(b"0" * 40 + b" " + b"2" * 40 + b" refs/heads/dev\n") + b"0000PACK...")

    reply = refusal(commands(b"report-status side-band-64k agent=git/2"), "Too big.", "too big")
    status = pkt(b"unpack too big\n") + pkt(b"ng refs/heads/main too big\n") + pkt(b"ng refs/heads/dev too big\n") + b"0000"
    assert reply == progress_packets("Too big.") + pkt(b"\x01" + status) + b"0000"
    assert refusal(commands(b"report-status agent=git/2"), "Too big.", "too big") == status
    assert refusal(b"00", "Too big.", "too big") is None  # the commands did not come
