"""A site's runtime logs: what its current container prints."""
from __future__ import annotations

from typing import Iterator

from hosting.engine import ContainerEngine
from hosting.errors import HostingError
from sites.models import Site


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


def follow(site: Site, lines: int) -> Iterator[str]:
    instance = site.current_instance
    if instance is None:
        return iter(())

    def stream() -> Iterator[str]:
        engine = ContainerEngine(timeout=3600)
        try:
            for line in engine.follow_logs(instance.name, tail=lines):
                yield line + "\n"
        except HostingError:
            return
        finally:
            engine.close()

    return stream()
