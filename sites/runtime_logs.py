"""A site's runtime logs: what its current container prints, read on the host that runs it through
that host's agent (hosting/log_access.py), whichever host it is."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from django.conf import settings

from hosting.engine import ContainerEngine, ContainerNotFound, ContainerState
from hosting.log_access import instance_engine
from hosting.models import Instance
from core.errors import HostingError, PlatformError
from sites import streams
from sites.formation import process_instance
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


class LogsUnavailable(PlatformError):
    """The host that runs the site's container cannot be asked for its logs right now."""

    def __init__(self, instance: Instance) -> None:
        super().__init__(f"The logs cannot be read right now: host {instance.host.name}, which runs this site, "
                         "does not answer. The site itself may still serve; try again in a minute.")


def _engine(instance: Instance, timeout: int) -> ContainerEngine:
    """An engine that reads only this instance, on its own host, through that host's agent."""
    return instance_engine(instance.host, instance.name, timeout)


def _instance(site: Site, process: str) -> Instance | None:
    """The web instance, or a process container of the formation (`worker.1`)."""
    if process in ("", "web", "web.1"):
        return site.current_instance
    return process_instance(site, process)


def silence(site: Site, process: str = "") -> str:
    """Why no container of `site` (or of its `process`) prints anything now, as a sentence for the
    customer; "" when one runs. A stopped site's logs say it is stopped, not just nothing."""
    if site.organization.suspended:
        return "The site is suspended: nothing runs until the organization is unsuspended."
    if site.desired_state == Site.DesiredState.STOPPED:
        return "The site is stopped: start it to see new output."
    if _instance(site, process) is not None:
        return ""
    if process not in ("", "web", "web.1"):
        return f"No {process} container runs: scale the formation to run it."
    if site.current_release_id is None:
        return "The site has not been deployed yet: its output shows here once it runs."
    return "No container runs for the site right now (it is starting or moving); try again in a moment."


def tail(site: Site, lines: int, process: str = "") -> list[str]:
    """The last `lines` lines of the running container ([] when none runs), the web one or
    `process` (`worker.1`); LogsUnavailable when its host cannot be asked."""
    instance = _instance(site, process)
    if instance is None:
        return []
    engine = _engine(instance, REPORT_TIMEOUT_SECONDS)
    try:
        return engine.logs(instance.name, tail=lines).splitlines()
    except ContainerNotFound:
        return []  # stopped and removed since the page loaded the site
    except HostingError:
        raise LogsUnavailable(instance) from None
    finally:
        engine.close()


def container_report(site: Site, lines: int = 50) -> ContainerReport:
    """The current container's state and last `lines` lines, as Docker on its host tells them."""
    instance = site.current_instance
    if instance is None:
        return ContainerReport(None, note="No container runs for this site (stopped, suspended or never deployed).")
    engine = _engine(instance, REPORT_TIMEOUT_SECONDS)
    try:
        state = engine.state(instance.name)
        return ContainerReport(instance, state, engine.logs(instance.name, tail=lines).splitlines())
    except ContainerNotFound:
        return ContainerReport(instance, note=f"Docker on host {instance.host.name} has no container {instance.name} "
                                              "(it was removed, or the host was replaced).")
    except HostingError as exc:
        return ContainerReport(instance, note=f"Docker on host {instance.host.name} could not be asked through its "
                                              f"agent (the agent may be down): {exc}")
    finally:
        engine.close()


def follow(site: Site, lines: int, environ: dict, process: str = "") -> Iterable[bytes]:
    """The container's output as it comes, as a stream of the site's organization (capped: may
    raise TooManyStreams) that ends when the request's client leaves; LogsUnavailable when its
    host cannot be asked (checked before the stream starts, so that the answer can say so)."""
    instance = _instance(site, process)
    if instance is None:
        return ()  # no container runs: nothing to follow
    engine = _engine(instance, REPORT_TIMEOUT_SECONDS)
    try:
        engine.state(instance.name)
    except ContainerNotFound:
        return ()
    except HostingError:
        raise LogsUnavailable(instance) from None
    finally:
        engine.close()
    slot = streams.take_slot(site.organization_id)
    return streams.watched(environ, slot, _follow(instance, lines))


def _follow(instance: Instance, lines: int) -> Iterator[bytes | None]:
    """Lines as they come, and None whenever the container was quiet for STREAM_CHECK_SECONDS
    (so that the stream can look at its client)."""
    # Docker's follow blocks until the container prints; a pump reads it so that this generator
    # can wake up when it is quiet, and closes Docker's stream to stop the pump.
    container = instance.name
    engine = _engine(instance, settings.STREAM_MAX_SECONDS + 60)
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
