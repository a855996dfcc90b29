"""A site's runtime logs: what its current container prints."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from django.conf import settings

from hosting.engine import ContainerEngine, ContainerNotFound, ContainerState
from hosting.models import Instance
from core.errors import HostingError
from sites import streams
from sites.models import Site

_END = object()
# A staff page asks Docker while it renders: it says Docker is slow rather than wait a minute.
REPORT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class ContainerReport:
    """What staff see of a site's container: its instance, Docker's view of it and its last
    lines, or `note` saying why some of it is missing (never an exception: the page still shows)."""

    instance: Instance | None
    state: ContainerState | None = None
    lines: list[str] = field(default_factory=list)
    note: str = ""


def tail(site: Site, lines: int) -> list[str]:
    instance = site.current_instance
    if instance is None:
        return []
    engine = ContainerEngine()
    try:
        return engine.logs(instance.name, tail=lines).splitlines()
    except HostingError:
        return []
    finally:
        engine.close()


def container_report(site: Site, lines: int = 50) -> ContainerReport:
    """The current container's state and last `lines` lines, as Docker tells them."""
    instance = site.current_instance
    if instance is None:
        return ContainerReport(None, note="No container runs for this site (stopped, suspended or never deployed).")
    engine = ContainerEngine(timeout=REPORT_TIMEOUT_SECONDS)
    try:
        state = engine.state(instance.name)
        return ContainerReport(instance, state, engine.logs(instance.name, tail=lines).splitlines())
    except ContainerNotFound:
        return ContainerReport(instance, note=f"Docker here has no container {instance.name} (on host "
                                              f"{instance.host.name}: its agent may be down or it was removed).")
    except HostingError as exc:
        return ContainerReport(instance, note=f"Docker could not be asked: {exc}")
    finally:
        engine.close()


def follow(site: Site, lines: int, environ: dict) -> Iterable[bytes]:
    """The container's output as it comes, as a stream of the site's organization (capped: may
    raise TooManyStreams) that ends when the request's client leaves."""
    instance = site.current_instance
    if instance is None:
        return ()  # no container runs: nothing to follow
    slot = streams.take_slot(site.organization_id)
    return streams.watched(environ, slot, _follow(instance.name, lines))


def _follow(container: str, lines: int) -> Iterator[bytes | None]:
    """Lines as they come, and None whenever the container was quiet for STREAM_CHECK_SECONDS
    (so that the stream can look at its client)."""
    # Docker's follow blocks until the container prints; a pump reads it so that this generator
    # can wake up when it is quiet, and closes Docker's stream to stop the pump.
    engine = ContainerEngine(timeout=settings.STREAM_MAX_SECONDS + 60)
    received: queue.Queue = queue.Queue(maxsize=1000)
    docker_streams: list[Any] = []
    stopping = threading.Event()

    def opened(stream: Any) -> None:
        docker_streams.append(stream)
        if stopping.is_set():
            stream.close()

    def offer(item: object) -> bool:
        """Queue an item unless the follow has stopped (nobody reads the queue then)."""
        while not stopping.is_set():
            try:
                received.put(item, timeout=1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for line in engine.follow_logs(container, tail=lines, opened=opened):
                if not offer((line + "\n").encode()):
                    return
        except Exception:  # noqa: BLE001 - the container went away or the stream was closed: the follow ends
            pass
        finally:
            offer(_END)

    reader = threading.Thread(target=pump, name=f"logs-{container}", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = received.get(timeout=settings.STREAM_CHECK_SECONDS)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            yield item
    finally:
        stopping.set()
        for stream in docker_streams:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a stream that already ended
                pass
        reader.join(5)
        engine.close()
