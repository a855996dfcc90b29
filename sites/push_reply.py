"""A push's answer from git, with git's own line about the size limit replaced by the plan's.

git receive-pack enforces the plan's limit (receive.maxInputSize, sites/git.py) and says only
"fatal: pack exceeds maximum allowed size". The answer is a stream of pkt-lines; with side-band,
band 2 is what `git push` prints as `remote: ...`. PushReply passes the stream through packet by
packet as it comes (the build log must not wait) and swaps that one packet for the plan's sentence.
"""
from __future__ import annotations

from typing import Iterable, Iterator

GIT_LIMIT_LINE = b"pack exceeds maximum allowed size"
PROGRESS_BAND = b"\x02"
MAX_PAYLOAD = 65515  # side-band-64k's largest payload after the band byte


def limit_message(plan) -> str:
    """What a push over the plan's size is told, over git and over HTTP."""
    return (f"This push is larger than your plan allows: {plan.max_push_mb} MB per push is the limit of the "
            f"{plan.label} plan. Push less at once (keep build output and large files out of git), "
            f"or ask for a plan with a larger limit.")


def progress_packets(text: str) -> bytes:
    """`text` as side-band progress packets, one per line (git prints each as `remote: <line>`)."""
    packets = b""
    for line in text.splitlines():
        payload = PROGRESS_BAND + line.encode()[:MAX_PAYLOAD] + b"\n"
        packets += b"%04x" % (len(payload) + 4) + payload
    return packets


class PushReply:
    """`chunks` (bytes, or None while git is quiet) with the limit packet replaced by `message`."""

    def __init__(self, chunks: Iterable[bytes | None], message: str) -> None:
        self._chunks = iter(chunks)
        self._source = chunks
        self._message = message
        self._buffer = b""
        self._framed = True  # until something is not a pkt-line: then it all passes as it is

    def __iter__(self) -> Iterator[bytes | None]:
        return self

    def __next__(self) -> bytes | None:
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                rest, self._buffer = self._buffer, b""
                if rest:
                    return rest
                raise
            if chunk is None:
                return None
            self._buffer += chunk
            out = self._complete_packets()
            if out:
                return out

    def _complete_packets(self) -> bytes:
        out = b""
        while self._framed and len(self._buffer) >= 4:
            try:
                length = int(self._buffer[:4], 16)
            except ValueError:
                self._framed = False
                break
            size = 4 if length < 4 else length  # 0000 flush (and 0001/0002 delimiters) are 4 bytes
            if len(self._buffer) < size:
                return out
            packet, self._buffer = self._buffer[:size], self._buffer[size:]
            if packet[4:5] == PROGRESS_BAND and GIT_LIMIT_LINE in packet:
                packet = progress_packets(self._message)
            out += packet
        if not self._framed:
            out, self._buffer = out + self._buffer, b""
        return out

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


COMMANDS_MAX = 64 * 1024  # a push's ref updates come first in its body, long before this
DRAIN_CHUNK = 64 * 1024


def _packets(data: bytes) -> Iterator[bytes | None]:
    """The pkt-line payloads at the start of `data`; None for a flush; stops at anything else."""
    while len(data) >= 4:
        try:
            length = int(data[:4], 16)
        except ValueError:
            return
        if length == 0:
            yield None
            data = data[4:]
            continue
        if length < 4 or len(data) < length:
            return
        yield data[4:length]
        data = data[length:]


def refusal(body_head: bytes, message: str, reason: str) -> bytes | None:
    """A receive-pack answer that rejects every ref the push's commands name, with `message` as
    progress lines when the client asked for side-band; None when `body_head` does not hold the
    commands (then the caller answers in plain HTTP)."""
    refs, capabilities = [], set()
    for payload in _packets(body_head):
        if payload is None:
            break
        command, _, caps = payload.rstrip(b"\n").partition(b"\0")
        if caps:
            capabilities = set(caps.split())
        parts = command.split(b" ")
        if len(parts) != 3:
            return None
        refs.append(parts[2])
    else:
        return None  # no flush: the commands did not all come
    if not refs:
        return None
    status = [b"unpack " + reason.encode() + b"\n", *(b"ng " + ref + b" " + reason.encode() + b"\n" for ref in refs)]
    report = b"".join(b"%04x" % (len(line) + 4) + line for line in status) + b"0000"
    if not capabilities & {b"side-band", b"side-band-64k"}:
        return report
    return progress_packets(message) + b"%04x" % (len(report) + 5) + b"\x01" + report + b"0000"
