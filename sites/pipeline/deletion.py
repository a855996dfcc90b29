"""Deleting a site: its names stop routing before the delete answers; what it left on hosts and in
the repository store is purged by tasks keyed by its uuid and its own instances' names (never by
its name, which another site may hold by then)."""
from __future__ import annotations

from typing import Protocol

from django.db import transaction

from core.queue import ensure_queue_reachable
from hosting.models import Instance
from hosting.spec import container_name
from proxy import services as proxy
from sites.models import Run, Site


class PurgeSender(Protocol):
    def purge_site(self, site_uuid: str, leftovers: dict) -> None:
        """The repository, and on every host what the site left there (on commit)."""


def delete_site(site: Site, sender: PurgeSender) -> None:
    """Delete the site. Every host gets the purge (a host that is down runs it when it comes
    back): builds and instances may have left something on any of them."""
    ensure_queue_reachable()  # the purge goes by task: no deleted site leaves its containers behind
    payload: dict = {}

    def purge() -> None:
        payload["sent"] = True
        sender.purge_site(payload["site_uuid"], payload["host"])

    try:
        with transaction.atomic():
            # A deployment finishing now locks the row too: it switched before this (and its
            # route is removed here) or it finds the site gone and switches nothing.
            if Site.objects.select_for_update().filter(pk=site.pk).first() is None:
                return
            payload.update(site_uuid=site.uuid.hex, host=leftovers(site))
            proxy.remove_routes(site.route_group)  # the edge drops them on commit, before the purge
            for hostname in site.domains.filter(is_default=False).values_list("hostname", flat=True):
                proxy.withdraw_verification_token(hostname)
                proxy.remove_certificate(hostname)
            site.delete()
            transaction.on_commit(purge)
    except Exception:
        # Committed, but the edge refused the change and the purge did not go: send it now (the
        # caller still hears of the edge's failure).
        if payload and "sent" not in payload and not Site.objects.filter(uuid=payload["site_uuid"]).exists():
            purge()
        raise


def leftovers(site: Site) -> dict:
    """What a host may hold of the site: its own instances (named after its deployments, whose ids
    no other site has), its volume and cache (by uuid) and its slugs."""
    own = {f"-d{pk}" for pk in site.deployments.values_list("pk", flat=True)}
    names = Instance.objects.filter(site_label=site.name).values_list("name", flat=True)
    # One-off commands still running: their containers hold the volume that the purge removes.
    runs = [container_name(site.name, run.release.label, f"run{run.pk}")
            for run in site.runs.filter(state__in=Run.ACTIVE, release__isnull=False).select_related("release")]
    return {
        "site_name": site.name,
        "site_uuid": site.uuid.hex,
        "instances": [name for name in names if any(name.endswith(suffix) for suffix in own)] + runs,
        "slugs": list(site.slugs.values_list("sha256", flat=True)),
    }
