"""A whole platform full of rows, made in bulk: what the staff site has to list.

`grow_platform(organizations, sites_per_organization, deployments_per_site)` grows the platform to
that many organizations, each seeded like a busy customer (tests/portal_data.py: sites, deployments,
releases, env vars, domains, audit events, members, tokens, invitations), and the staff side's own
rows in proportion: a plan per organization (up to twenty), a host per twenty sites with a running instance (and its port and
volume usage) per site, each host's OS and runtime images, the edge's routes, upstreams and certificates, a profile per user, and
support tickets with messages. Calling it again with larger numbers tops up what is there, so a test
can render a page, grow the rows and render it again (tests/unit/test_admin_query_counts.py); the
benchmark builds 10,000 sites and 100,000 deployments with it (bench/admin.py).
"""
from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Organization, Plan, Profile, Role
from accounts.services import create_organization
from hosting.models import Host, HostPort, Instance, VolumeUsage
from proxy.models import Certificate, EdgeState, Route, Upstream
from sites.models import Deployment, Domain, Release, Site
from support.models import Message, Ticket
from tests.portal_data import BATCH, seed

SITES_PER_HOST = 20
MAX_PLANS = 20  # a catalog of plans stays short, however many customers buy them


def grow_platform(organizations: int, sites_per_organization: int, deployments_per_site: int) -> None:
    with transaction.atomic():
        _grow_plans(min(organizations, MAX_PLANS))
        plans = list(Plan.objects.order_by("pk"))
        for n in range(organizations):
            slug = f"org-{n:04d}"
            org = Organization.objects.filter(slug=slug).first() or create_organization(
                slug, f"owner@{slug}.example.com", plan=plans[n % len(plans)])
            seed(org, sites_per_organization, deployments_per_site)
            _grow_tickets(org, max(1, sites_per_organization // 2))
        _finish_deployments()
        _grow_hosts(-(-organizations * sites_per_organization // SITES_PER_HOST))
        _grow_instances()
        _grow_runtime_images()
        _grow_edge()
        _grow_profiles()


def _finish_deployments() -> None:
    """The seed's deployments took time and some failed: 45 s each, every seventh 400 s, every
    twentieth failed (so a filter on failures and the metrics' histogram have rows)."""
    fresh = Deployment.objects.filter(finished_at__isnull=True, state=Deployment.State.SUCCEEDED)
    fresh.annotate(seventh=F("id") % 7).filter(seventh=0).update(
        started_at=F("created_at"), finished_at=F("created_at") + timedelta(seconds=400))
    fresh.update(started_at=F("created_at"), finished_at=F("created_at") + timedelta(seconds=45))
    Deployment.objects.annotate(twentieth=F("id") % 20).filter(twentieth=0).update(state=Deployment.State.FAILED)


def _grow_plans(wanted: int) -> None:
    have = Plan.objects.count()
    Plan.objects.bulk_create([
        Plan(name=f"plan-{n}", label=f"Plan {n}", memory_mb=256 * (n + 1), cpu_millicores=250, pids_limit=128,
             disk_mb=1024, max_sites=1000, max_custom_domains=100, max_push_mb=100, build_timeout_seconds=600)
        for n in range(have, wanted)])


def _grow_hosts(wanted: int) -> None:
    have = Host.objects.count()
    now = timezone.now()
    Host.objects.bulk_create([Host(name=f"host-{n:04d}", cpus=16, memory_mb=64000, docker_version="26.1.5",
                                   last_heartbeat=now - timedelta(seconds=n % 120)) for n in range(have, wanted)])


def _grow_instances() -> None:
    """A running container per site that has none, spread over the hosts, with its port and /data usage."""
    hosts = list(Host.objects.order_by("pk"))
    sites = list(Site.objects.filter(current_instance__isnull=True).order_by("pk"))
    start = Instance.objects.count()
    instances = Instance.objects.bulk_create([
        Instance(host=hosts[(start + n) % len(hosts)], name=f"{site.name}-web-1", site_label=site.name,
                 release_label="v1", port=20000 + start + n, container_address=_address(start + n),
                 memory_mb=256, cpu_millicores=250, state=Instance.State.RUNNING)
        for n, site in enumerate(sites)], batch_size=BATCH)
    for site, instance in zip(sites, instances):
        site.current_instance = instance
    Site.objects.bulk_update(sites, ["current_instance"], batch_size=BATCH)
    HostPort.objects.bulk_create([HostPort(host=i.host, port=i.port, holder=i.name) for i in instances], batch_size=BATCH)
    now = timezone.now()
    VolumeUsage.objects.bulk_create([VolumeUsage(host=i.host, volume=site.uuid.hex, used_bytes=10 << 20,
                                                 size_bytes=1 << 30, measured_at=now)
                                     for site, i in zip(sites, instances)], batch_size=BATCH)


def _grow_runtime_images() -> None:
    """The OS and runtime images on each host that has none (the fleet work brings the model)."""
    try:
        image = apps.get_model("hosting", "RuntimeImage")
    except LookupError:
        return
    bare = Host.objects.filter(images__isnull=True)
    image.objects.bulk_create([image(host=host, runtime=runtime, tag=f"hosting/{runtime}:seed", created_at=timezone.now())
                               for host in bare for runtime in ("os", "static", "python", "node", "php")],
                              batch_size=BATCH)


def _address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _grow_edge() -> None:
    """A route per routed domain, an upstream per instance, a certificate per custom domain."""
    EdgeState.objects.get_or_create(pk=1, defaults={"applied_at": timezone.now(), "apply_seconds": 0.3})
    routed = set(Route.objects.values_list("hostname", flat=True))
    domains = Domain.objects.select_related("site__current_instance").order_by("pk")
    Route.objects.bulk_create([
        Route(hostname=d.hostname, group=d.site.uuid.hex, status=Route.Status.LIVE,
              upstreams=[f"{d.site.current_instance.container_address}:8080"] if d.site.current_instance else [])
        for d in domains.exclude(hostname__in=routed)], batch_size=BATCH)
    claimed = set(Upstream.objects.values_list("address", flat=True))
    sites = Site.objects.filter(current_instance__isnull=False).select_related("current_instance")
    Upstream.objects.bulk_create([Upstream(address=f"{s.current_instance.container_address}:8080", group=s.uuid.hex)
                                  for s in sites if f"{s.current_instance.container_address}:8080" not in claimed],
                                 batch_size=BATCH)
    certified = set(Certificate.objects.values_list("hostname", flat=True))
    expires = timezone.now() + timedelta(days=60)
    Certificate.objects.bulk_create([
        Certificate(hostname=d.hostname, group=d.site.uuid.hex, state=Certificate.State.ISSUED, expires_at=expires,
                    issued_at=timezone.now())
        for d in domains.filter(is_default=False).exclude(hostname__in=certified)], batch_size=BATCH)


def _grow_profiles() -> None:
    users = get_user_model().objects.filter(profile__isnull=True)
    Profile.objects.bulk_create([Profile(user=user) for user in users], batch_size=BATCH)


def _grow_tickets(organization: Organization, wanted: int) -> None:
    """Tickets of `organization` up to `wanted`, each with the customer's message and a staff reply."""
    owner = Membership.objects.filter(organization=organization, role=Role.OWNER).order_by("pk").first().user
    sites = list(Site.objects.filter(organization=organization).order_by("pk")[:wanted])
    have = Ticket.objects.filter(organization=organization).count()
    Ticket.objects.bulk_create([
        Ticket(organization=organization, site=sites[n % len(sites)] if sites else None, subject=f"Help {n}",
               opened_by=owner, state=(Ticket.State.OPEN, Ticket.State.ANSWERED, Ticket.State.CLOSED)[n % 3],
               last_message_at=timezone.now())
        for n in range(have, wanted)], batch_size=BATCH)
    bare = Ticket.objects.filter(organization=organization).annotate(made=Count("messages")).filter(made=0)
    Message.objects.bulk_create([Message(ticket=ticket, author=owner, body=text, by_staff=by_staff)
                                 for ticket in bare for text, by_staff in (("Help!", False), ("On it.", True))],
                                batch_size=BATCH)


def census() -> str:
    """What the platform holds, for a benchmark's text."""
    counts = {"organizations": Organization.objects.count(), "sites": Site.objects.count(),
              "deployments": Deployment.objects.count(), "releases": Release.objects.count(),
              "domains": Domain.objects.count(), "audit events": AuditEvent.objects.count(),
              "hosts": Host.objects.count(), "tickets": Ticket.objects.count()}
    return ", ".join(f"{count:,} {what}" for what, count in counts.items())
