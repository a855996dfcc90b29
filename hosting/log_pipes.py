"""Room in a container's output pipes for while the Docker daemon is away.

A container writes its stdout and stderr into FIFOs that dockerd reads (for `docker logs`). With
live-restore the container keeps running while dockerd restarts, but nobody reads those FIFOs
meanwhile, and Linux gives a pipe 64 KiB: a site's web server logs every request, so under load
the pipe is full within seconds, the server blocks on its next log line, and the site stops
answering until the daemon reads again (Docker documents this limit of live-restore). A pipe
can be made larger by whoever holds it open; this makes each container's FIFOs 1 MiB (about a
minute of a busy site's access log), at the cost of kernel memory only while they fill.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PIPE_BYTES = 1024 * 1024
# dockerd's default --exec-root, where containerd keeps each container's FIFOs (the launcher and
# Debian's docker.service keep the default).
EXEC_ROOT = Path("/run/docker")
STREAMS = ("init-stdout", "init-stderr")


def widen(container_id: str, exec_root: Path = EXEC_ROOT, size: int = PIPE_BYTES) -> int:
    """Make the container's output FIFOs `size` bytes; returns how many were widened. A missing
    FIFO (a container without a terminal stream, another runtime's layout) is left alone."""
    widened = 0
    for stream in STREAMS:
        path = exec_root / "containerd" / container_id / stream
        try:
            # Read-write: opening a FIFO so never blocks and never takes the daemon's place as its
            # reader; nothing is read or written, only the size is set.
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
            widened += 1
        except OSError as exc:
            log.warning("could not widen %s: %s", path, exc)
        finally:
            os.close(fd)
    return widened


def size_of(container_id: str, exec_root: Path = EXEC_ROOT, stream: str = "init-stdout") -> int:
    fd = os.open(exec_root / "containerd" / container_id / stream, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(fd)
