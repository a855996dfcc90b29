"""Which queue a task goes to.

Queues (DESIGN.md): `control` for deploy orchestration and housekeeping (the control worker, as the
unprivileged platform user), `proxy` for edge changes, and one `host.<name>` queue per host, consumed
only by that host's agent. `proxy` has a root worker of its own beside the edge (Procfile
`edge_worker`): applying a config runs `nginx -t` and a reload of root's nginx, and certbot writes
keys that only root and nginx's workers may read. Not the agent: a second host runs an agent but no
edge, and the agent's slots are busy with builds for minutes. Route changes need no root: they go
through the edge's control socket, whose directory admits the platform's group. Host tasks carry no
default route on purpose: sending one without naming its host is a bug, and routing it to some
other queue would run Docker work on the wrong machine.
"""
from __future__ import annotations

from typing import Any

CONTROL_QUEUE = "control"
PROXY_QUEUE = "proxy"
HOST_QUEUE_PREFIX = "host."


def host_queue(host_name: str) -> str:
    return f"{HOST_QUEUE_PREFIX}{host_name}"


class HostNotGiven(Exception):
    """A host task was sent without the queue of the host that must run it."""


def route_task(name: str, args: Any, kwargs: Any, options: dict, task: Any = None, **kw: Any) -> dict | None:
    # An explicit queue given to apply_async wins over this router (Celery merges it last).
    if options.get("queue"):
        return None
    app_label, _, rest = name.partition(".")
    if rest.startswith("agent."):
        raise HostNotGiven(f"{name} runs on a host: send it with queue=host_queue(<host name>).")
    if app_label == "proxy":
        return {"queue": PROXY_QUEUE}
    return {"queue": CONTROL_QUEUE}
