"""Edge tasks, on the `proxy` queue: the edge's own root worker (see core.routing). Each is a thin
call into proxy's own modules; proxy.services sends them."""
from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction

from core.redis_client import redis_client
from core.tasks import PlatformTask
from proxy import issuance
from proxy.applying import apply_edge
from proxy.certificates import Certbot
from proxy.edge import EdgeNginx
from proxy.traffic import collect, prune_traffic

APPLY_COUNTER = "edge:apply-requests"


def request_apply() -> None:
    """Number the request and send it; only the newest request's task applies (bursts coalesce)."""
    client = redis_client(settings.REDIS_URL)
    try:
        number = client.incr(APPLY_COUNTER)
    finally:
        client.close()
    transaction.on_commit(lambda: apply_edge_config.apply_async(args=[number], countdown=0.2))


@shared_task(base=PlatformTask, name="proxy.apply_edge_config")
def apply_edge_config(number: int) -> bool:
    client = redis_client(settings.REDIS_URL)
    try:
        latest = int(client.get(APPLY_COUNTER) or 0)
    finally:
        client.close()
    if number < latest:
        return False  # a newer request is queued; its apply covers this one
    apply_edge()
    return True


@shared_task(base=PlatformTask, name="proxy.issue_certificate")
def issue_certificate(hostname: str) -> None:
    issuance.issue_certificate(hostname)


@shared_task(base=PlatformTask, name="proxy.delete_certificate_files")
def delete_certificate_files(hostname: str) -> None:
    apply_edge()  # the edge stops naming the files first
    Certbot().delete(hostname)


@shared_task(base=PlatformTask, name="proxy.renew_certificates")
def renew_certificates() -> int:
    """Beat: certificates within 30 days of expiry, and failed ones after an hour, are tried again."""
    hostnames = issuance.certificates_to_renew()
    for hostname in hostnames:
        issue_certificate.delay(hostname)
    return len(hostnames)


@shared_task(base=PlatformTask, name="proxy.collect_traffic")
def collect_traffic() -> int:
    lines = collect(EdgeNginx.from_settings().prefix / "logs" / "access.log")
    prune_traffic()
    return lines
