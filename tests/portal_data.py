"""An organization full of rows, made in bulk: what a busy customer's portal has to show.

`seed(org, sites, deployments_per_site)` grows the organization to that many sites, each with that
many deployments, and everything else in proportion: a release per deployment (the latest one
current), an env var per deployment, a custom domain per ten, two audit events per deployment,
a member, an API token, a pending invitation and a support ticket per two sites, and a message (with
an attachment, every fourth an internal note) per five deployments on each ticket, and runs and backups of
the first site, one per deployment. Calling it again with larger numbers tops up what is
there, so a test can measure a page, grow the rows threefold and measure it again.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import ApiToken, AuditEvent, Membership, Organization, Role
from sites import data_backups
from sites.config_crypto import encrypt
from sites.database_models import Database
from sites.models import Deployment, Domain, EnvVar, Release, Run, ScheduledJob, Site, SiteBackup, Slug
from support import attachments
from support.models import Attachment, Message, Ticket
from tests.portal_urls import invitation_token

BATCH = 2000
LOG = "".join(f"-----> step {n}: done\n" for n in range(20))  # a short build log


def seed(organization: Organization, sites: int, deployments_per_site: int) -> None:
    with transaction.atomic():
        _grow_sites(organization, sites)
        all_sites = list(Site.objects.filter(organization=organization).annotate(made=Count("deployments"))
                         .order_by("name"))
        for site in all_sites:
            _grow_site(site, site.made, deployments_per_site)
        _grow_members(organization, sites // 2)
        seed_invitations(organization, sites // 2)
        seed_tickets(organization, max(sites // 2, 1), max(deployments_per_site // 5, 2))
        if all_sites:  # the site the URL table's pages name (the first by name)
            seed_runs(all_sites[0], deployments_per_site)
            seed_backups(all_sites[0], deployments_per_site)


def _grow_sites(organization: Organization, wanted: int) -> None:
    have = Site.objects.filter(organization=organization).count()
    new = [Site(name=f"{organization.slug}-site-{n:04d}", organization=organization, plan=organization.plan)
           for n in range(have, wanted)]
    Site.objects.bulk_create(new, batch_size=BATCH)
    created = Site.objects.filter(organization=organization, name__in=[s.name for s in new])
    Domain.objects.bulk_create([Domain(site=site, hostname=site.default_hostname, is_default=True, verified_at=site.created_at)
                                for site in created], batch_size=BATCH)


def _grow_site(site: Site, have: int, wanted: int) -> None:
    if have >= wanted:
        return
    config = encrypt("{}")
    slug = Slug.objects.create(site=site, sha256="b" * 64, size_bytes=4096, runtime="static", source="seed")
    top = Release.objects.filter(site=site).order_by("-version").values_list("version", flat=True).first() or 0
    releases = Release.objects.bulk_create(
        [Release(site=site, version=top + n + 1, slug=slug, encrypted_config=config, description=f"Deploy {n}")
         for n in range(wanted - have)], batch_size=BATCH)
    Deployment.objects.bulk_create(
        [Deployment(site=site, trigger="push", state="succeeded", source=f"{n:040x}", release=release, log=LOG)
         for n, release in enumerate(releases, start=have)], batch_size=BATCH)
    EnvVar.objects.bulk_create([EnvVar(site=site, key=f"VAR_{n}", encrypted_value=encrypt(str(n)))
                                for n in range(have, wanted)], batch_size=BATCH)
    Domain.objects.bulk_create([Domain(site=site, hostname=f"d{n}.{site.name}.example.com", verification_token="t")
                                for n in range(_tenths(have), _tenths(wanted))], batch_size=BATCH)
    AuditEvent.objects.bulk_create(
        [AuditEvent(organization=site.organization, actor_label="seed@example.com", action=action,
                    target=site.name, site_name=site.name) for _ in range(have, wanted) for action in ("deploy", "env.set")],
        batch_size=BATCH)
    Site.objects.filter(pk=site.pk).update(current_release=releases[-1])


def _tenths(count: int) -> int:
    """One per ten, rounded up: a site with any deployments has a custom domain."""
    return -(-count // 10)


def _grow_members(organization: Organization, wanted: int) -> None:
    have = Membership.objects.filter(organization=organization).exclude(role=Role.OWNER).count()
    emails = [f"member{n}@{organization.slug}.example.com" for n in range(have, wanted)]
    User = get_user_model()
    users = User.objects.bulk_create([User(username=email, email=email) for email in emails], batch_size=BATCH)
    roles = [Role.ADMIN, Role.DEVELOPER, Role.VIEWER]
    Membership.objects.bulk_create([Membership(organization=organization, user=user, role=roles[n % 3])
                                    for n, user in enumerate(users)], batch_size=BATCH)
    owner = Membership.objects.filter(organization=organization, role=Role.OWNER).order_by("id").first().user
    ApiToken.objects.bulk_create([ApiToken(user=owner, name=f"seed {n}", prefix=f"seed{n:08d}", digest=f"{organization.pk}-{n}")
                                  for n in range(have, wanted)], batch_size=BATCH)


def seed_invitations(organization: Organization, wanted: int) -> None:
    """Pending invitations of `organization`, up to `wanted` (at least one)."""
    try:  # the team pages bring the model (issue 11)
        invitation = apps.get_model("accounts", "Invitation")
    except LookupError:
        return
    have = invitation.objects.filter(organization=organization).count()
    expires = timezone.now() + timedelta(days=7)
    emails = [f"invited{n}@{organization.slug}.example.com" for n in range(have, max(wanted, 1))]
    invitation.objects.bulk_create(
        [invitation(organization=organization, email=email, role=Role.VIEWER, expires_at=expires,
                    digest=hashlib.sha256(invitation_token(email).encode()).hexdigest()) for email in emails],
        batch_size=BATCH)


def seed_runs(site: Site, wanted: int) -> None:
    """A scheduled job `nightly` of `site` and runs of it, up to `wanted`: finished ones with output,
    every third one a one-off command, every fifth skipped."""
    job, _ = ScheduledJob.objects.get_or_create(site=site, name="nightly", defaults=dict(
        schedule="0 3 * * *", command="python manage.py clearsessions", next_run_at=timezone.now() + timedelta(hours=1)))
    have = Run.objects.filter(site=site).count()
    now = timezone.now()
    Run.objects.bulk_create([Run(
        site=site, job=None if n % 3 == 0 else job, release=site.current_release, command=f"echo {n}",
        trigger="api" if n % 3 == 0 else "schedule", state="skipped" if n % 5 == 4 else "succeeded",
        exit_code=None if n % 5 == 4 else 0, log=f"-----> Run #{n}\n{n}\n", timeout_seconds=600,
        started_at=now, finished_at=now) for n in range(have, wanted)], batch_size=BATCH)


def seed_backups(site: Site, wanted: int) -> None:
    """Backups of `site`'s /data, up to `wanted` (only the first one's tarball is written): manual
    ones taken by the owner, nightly ones, every fifth failed with its reason."""
    owner = Membership.objects.filter(organization=site.organization, role=Role.OWNER).order_by("id").first().user
    have = SiteBackup.objects.filter(site=site).count()
    now = timezone.now()
    SiteBackup.objects.bulk_create([SiteBackup(
        site=site, kind="manual" if n % 2 else "nightly", created_by=owner if n % 2 else None, host_name="h1",
        state="failed" if n % 5 == 4 else "succeeded", size_bytes=None if n % 5 == 4 else 4096 * (n + 1),
        sha256="" if n % 5 == 4 else "c" * 64, error="Packing /data took longer than an hour." if n % 5 == 4 else "",
        finished_at=now) for n in range(have, wanted)], batch_size=BATCH)
    first = SiteBackup.objects.filter(site=site).select_related("site").order_by("id").first()
    if first is not None:  # the one the URL table's downloads name (tests/portal_urls.py) has its parts
        path = data_backups.tarball(first)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"seed\n")
        data_backups.dump_file(first, "postgresql").write_bytes(b"-- seed\n")
        SiteBackup.objects.filter(pk=first.pk).update(databases=[
            {"engine": "postgresql", "size_bytes": 8, "sha256": "d" * 64}])


def seed_database(site: Site) -> Database:
    """A ready PostgreSQL database of `site` (the server's side is the integration tier's)."""
    return Database.objects.create(site=site, name=f"site_{site.uuid.hex}", host_name="h1", state=Database.State.READY,
                                   encrypted_password=encrypt("pw"), network=f"hosting-db-site-{site.uuid.hex}",
                                   server_address="10.215.0.34")


def seed_tickets(organization: Organization, wanted: int, messages_per_ticket: int) -> None:
    """Support tickets of `organization`, up to `wanted`, each with `messages_per_ticket` messages
    (the customer's first, then staff's replies, every fourth an internal note), each message with an
    attachment (only the first message's has its file: a page lists files, one download reads one)."""
    owner = Membership.objects.filter(organization=organization, role=Role.OWNER).order_by("id").first().user
    have = Ticket.objects.filter(organization=organization).count()
    Ticket.objects.bulk_create([Ticket(organization=organization, subject=f"Help {n}", opened_by=owner,
                                       last_message_at=timezone.now()) for n in range(have, wanted)], batch_size=BATCH)
    tickets = Ticket.objects.filter(organization=organization).annotate(made=Count("messages")).order_by("id")
    new = [Message(ticket=ticket, author=owner, by_staff=n % 2 == 1, internal=n % 4 == 3, body=f"Message {n}")
           for ticket in tickets for n in range(ticket.made, messages_per_ticket)]
    made = Message.objects.bulk_create(new, batch_size=BATCH)
    folder = attachments.directory()
    folder.mkdir(parents=True, exist_ok=True)
    files = Attachment.objects.bulk_create([Attachment(message=message, filename=f"log-{message.body[8:]}.txt", size_bytes=5,
                                                       sha256=hashlib.sha256(b"seed\n").hexdigest()) for message in made],
                                           batch_size=BATCH)
    for attachment in files:  # the file of each ticket's first message: the one the URL table downloads
        if attachment.message.body == "Message 0":
            (folder / attachment.stored_name).write_bytes(b"seed\n")
