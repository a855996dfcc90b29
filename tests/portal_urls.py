"""Every URL of the portal and the API, written out independently of the views: for each URL name,
the methods it answers, what each needs (a role action of accounts.roles, or PUBLIC, SIGNED_IN,
PERSONAL) and how to fill its URL parameters from the rows of an organization.

The authorization sweep (tests/unit/test_authorization_sweep.py) holds the views to this table, the
query-count test and `make bench` (bench/portal.py) render every GET page of it. A URL of the
URLconf missing here fails the sweep: add its row when you add a page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ApiToken, Membership, Organization, Role
from accounts.roles import Action
from sites.models import Deployment, Domain, EnvVar, Run, ScheduledJob, Site, SiteBackup
from support.models import Attachment, Ticket

PUBLIC = "public"        # anyone, signed in or not (sign-up, log-in, links from e-mails)
SIGNED_IN = "signed-in"  # any signed-in user; shows only what is theirs (their sites, their account)
PERSONAL = "personal"    # the user's own objects (API tokens), whatever their role

# Left out of the sweep, each with the test that covers it instead. (Static files are served by
# whitenoise, before the URLconf: they have no pattern to leave out.)
EXCLUDED_PREFIXES = {
    "admin/": "the staff site: Django's admin asks is_staff itself (the sweep checks that anonymous users "
              "are sent to the admin's login)",
    "healthz": "public by design: the status for anyone, the details for staff (tests/unit/test_healthz.py)",
    "metrics": "the operators' Prometheus endpoint: a bearer token or staff with two-factor, 401/403 for anyone "
               "else (tests/unit/test_metrics.py)",
    "api/v1/admin/": "the staff's API (`hosting admin`): staff with two-factor and the admin's permission, 403 for "
                     "anyone else (tests/unit/test_staff_api.py)",
    "git/": "git over HTTP answers HTTP Basic with 401 (tests/security/test_roles.py; the sweep checks anonymous)",
    "internal/v1/": "hosts' agents only: a host token, 401 without, 403 for another host's build or backup "
                    "(tests/unit/test_internal_channel.py, tests/unit/test_remote_backups.py)",
}


@dataclass(frozen=True)
class Targets:
    """What to put in the URLs when `user` works in `organization`."""
    organization: str
    site: str
    deployment: int
    env_key: str
    hostname: str
    membership: int     # another member's membership (a viewer's), to change or remove
    invitation: int     # a pending invitation
    invitation_token: str  # its link's token (tests/portal_data.py makes them)
    reset_uid: str      # the user's password-reset link
    reset_token: str
    token_prefix: str   # the user's own API token
    ticket: int = 0      # a support ticket of the organization
    attachment: int = 0  # an attachment of a customer's message on it (tests/portal_data.py makes them)
    backup: int = 0      # a backup of the site's /data, with its tarball (and a PostgreSQL dump)
    run: int = 0         # a run of the site (one-off command or scheduled job's; tests/portal_data.py seed_runs)
    job: str = "none"    # a scheduled job of the site


def targets_for(organization: Organization, user) -> Targets:
    site = Site.objects.filter(organization=organization).order_by("name").first()
    deployment = Deployment.objects.filter(site=site).order_by("-id").first()
    env = EnvVar.objects.filter(site=site).order_by("key").first()
    domain = Domain.objects.filter(site=site, is_default=False).order_by("hostname").first()
    other = (Membership.objects.filter(organization=organization, role=Role.VIEWER).exclude(user=user)
             .order_by("-id").first())
    token = ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("id").first()
    invitation = pending_invitation(organization)
    ticket = Ticket.objects.filter(organization=organization).order_by("id").first()
    attachment = (Attachment.objects.filter(message__ticket=ticket, message__internal=False).order_by("id").first()
                  if ticket else None)
    backup = SiteBackup.objects.filter(site=site).order_by("id").first()
    run = Run.objects.filter(site=site).order_by("-id").first()
    job = ScheduledJob.objects.filter(site=site).order_by("name").first()
    return Targets(organization=organization.slug, site=site.name, deployment=deployment.pk if deployment else 0,
                   env_key=env.key if env else "A", hostname=domain.hostname if domain else "none.example.com",
                   membership=other.pk if other else 0, invitation=invitation.pk if invitation else 0,
                   invitation_token=invitation_token(invitation.email) if invitation else "bad-token",
                   reset_uid=urlsafe_base64_encode(force_bytes(user.pk)), reset_token=default_token_generator.make_token(user),
                   token_prefix=token.prefix if token else "nosuchtoken", ticket=ticket.pk if ticket else 0,
                   attachment=attachment.pk if attachment else 0, run=run.pk if run else 0,
                   job=job.name if job else "none", backup=backup.pk if backup else 0)


def pending_invitation(organization: Organization):
    try:  # the team pages bring the model (issue 11); until they land, no invitation resolves
        invitation = apps.get_model("accounts", "Invitation")
    except LookupError:
        return None
    return invitation.objects.filter(organization=organization).order_by("-id").first()


def invitation_token(email: str) -> str:
    """The token of the link of the invitation tests/portal_data.py made for `email`."""
    return f"invite-{email}"


def _none(t: Targets) -> dict:
    return {}


def _site(t: Targets) -> dict:
    return {"name": t.site}


def _deployment(t: Targets) -> dict:
    return {"name": t.site, "deployment_id": t.deployment}


def _env(t: Targets) -> dict:
    return {"name": t.site, "key": t.env_key}


def _domain(t: Targets) -> dict:
    return {"name": t.site, "hostname": t.hostname}


def _database(t: Targets) -> dict:
    return {"name": t.site, "engine": "postgresql"}


def _membership(t: Targets) -> dict:
    return {"membership_id": t.membership}


def _invitation(t: Targets) -> dict:
    return {"invitation_id": t.invitation}


def _backup(t: Targets) -> dict:
    return {"name": t.site, "backup_id": t.backup}


def _backup_dump(t: Targets) -> dict:
    return {"name": t.site, "backup_id": t.backup, "engine": "postgresql"}


def _token(t: Targets) -> dict:
    return {"prefix": t.token_prefix}


def _ticket(t: Targets) -> dict:
    return {"ticket_id": t.ticket}


def _attachment(t: Targets) -> dict:
    return {"attachment_id": t.attachment}


def _run(t: Targets) -> dict:
    return {"name": t.site, "run_id": t.run}


def _job(t: Targets) -> dict:
    return {"name": t.site, "job_name": t.job}


@dataclass(frozen=True)
class Row:
    methods: dict[str, Action | str]
    fill: Callable[[Targets], dict] = _none
    bears_object: bool = False  # names an organization's object: another organization's member gets 404
    # What to send per method (default: nothing, so that a role that may gets a validation answer
    # and nothing starts); built from the targets.
    bodies: dict[str, Callable[[Targets], dict]] = field(default_factory=dict)
    api: bool = False  # under /api/v1/: a bearer token, 401 for anonymous requests

    def body(self, method: str, targets: Targets) -> dict:
        return self.bodies[method](targets) if method in self.bodies else {}


def _site_row(**methods: Action) -> Row:
    return Row(methods, _site, bears_object=True)


G, P = "GET", "POST"
A = Action

PORTAL: dict[str, Row] = {
    # accounts: signing up and in (links from e-mails carry tokens; a bad one gets a clear page)
    "accounts:signup": Row({G: PUBLIC, P: PUBLIC}),
    "accounts:confirm-email": Row({G: PUBLIC}, lambda t: {"token": "bad-token"}),
    "accounts:resend-confirmation": Row({G: PUBLIC, P: PUBLIC}),
    "accounts:login": Row({G: PUBLIC, P: PUBLIC}),
    "accounts:login-2fa": Row({G: PUBLIC, P: PUBLIC}),
    "accounts:logout": Row({P: PUBLIC}),
    "accounts:password-reset": Row({G: PUBLIC, P: PUBLIC}),
    "accounts:password-reset-sent": Row({G: PUBLIC}),
    "accounts:password-reset-confirm": Row({G: PUBLIC, P: PUBLIC}, lambda t: {"uidb64": t.reset_uid, "token": t.reset_token}),
    "accounts:password-reset-complete": Row({G: PUBLIC}),
    "accounts:accept-invitation": Row({G: PUBLIC, P: PUBLIC}, lambda t: {"token": t.invitation_token}),
    # accounts: the user's own
    "accounts:account": Row({G: SIGNED_IN, P: SIGNED_IN}),
    "accounts:two-factor": Row({G: SIGNED_IN, P: SIGNED_IN}),
    "accounts:switch-organization": Row({P: SIGNED_IN}),
    "accounts:tokens": Row({G: PERSONAL, P: PERSONAL}),
    "accounts:token-revoke": Row({P: PERSONAL}, _token, bears_object=True),
    # accounts: the organization's
    "accounts:team": Row({G: A.READ, P: A.MANAGE_TEAM}),
    "accounts:team-leave": Row({P: A.READ}),  # any member leaves (the last owner cannot)
    "accounts:member-role": Row({P: A.MANAGE_TEAM}, _membership, bears_object=True),
    "accounts:member-remove": Row({P: A.MANAGE_TEAM}, _membership, bears_object=True),
    "accounts:invitation-revoke": Row({P: A.MANAGE_TEAM}, _invitation, bears_object=True),
    "accounts:audit": Row({G: A.READ_AUDIT}),
    # support: every member reads and writes the organization's tickets (support/views.py says why)
    "support:home": Row({G: A.READ}),
    "support:new": Row({G: A.READ, P: A.READ}),
    "support:ticket": Row({G: A.READ, P: A.READ}, _ticket, bears_object=True),
    "support:attachment": Row({G: A.READ}, _attachment, bears_object=True),
    # sites: the user's sites
    "sites:list": Row({G: SIGNED_IN}),
    "sites:create": Row({G: A.READ, P: A.CREATE_SITE}),  # the form for all, with what the role may
    "sites:check-name": Row({G: SIGNED_IN}),
    "sites:usage": Row({G: SIGNED_IN}),
    # sites: one site's tabs
    "sites:overview": _site_row(GET=A.READ),
    "sites:restart": _site_row(POST=A.OPERATE),
    "sites:stop": _site_row(POST=A.OPERATE),
    "sites:start": _site_row(POST=A.OPERATE),
    "sites:scale": _site_row(POST=A.DEPLOY),
    "sites:delete": _site_row(GET=A.DELETE_SITE, POST=A.DELETE_SITE),
    "sites:deployments": _site_row(GET=A.READ, POST=A.DEPLOY),
    "sites:deployment": Row({G: A.READ}, _deployment, bears_object=True),
    "sites:deployment-log": Row({G: A.READ}, _deployment, bears_object=True),
    "sites:rollback": _site_row(POST=A.OPERATE),
    "sites:env": _site_row(GET=A.READ, POST=A.CONFIGURE),
    "sites:env-reveal": Row({P: A.REVEAL_ENV}, _env, bears_object=True),
    "sites:env-delete": Row({P: A.CONFIGURE}, _env, bears_object=True),
    "sites:settings": _site_row(GET=A.READ, POST=A.CONFIGURE),
    "sites:database-attach": _site_row(POST=A.CONFIGURE),
    "sites:database-rotate": Row({P: A.CONFIGURE}, _database, bears_object=True),
    "sites:database-detach": Row({P: A.DELETE_SITE}, _database, bears_object=True),
    "sites:domains": _site_row(GET=A.READ, POST=A.MANAGE_DOMAINS),
    "sites:domain-verify": Row({P: A.MANAGE_DOMAINS}, _domain, bears_object=True),
    "sites:domain-delete": Row({P: A.MANAGE_DOMAINS}, _domain, bears_object=True),
    "sites:logs": _site_row(GET=A.READ_LOGS),
    "sites:logs-tail": _site_row(GET=A.READ_LOGS),
    "sites:metrics": _site_row(GET=A.READ),
    "sites:jobs": _site_row(GET=A.READ, POST=A.DEPLOY),
    "sites:job-delete": Row({P: A.DEPLOY}, _job, bears_object=True),
    "sites:run-start": _site_row(POST=A.DEPLOY),
    "sites:run": Row({G: A.READ_LOGS}, _run, bears_object=True),
    "sites:run-output": Row({G: A.READ_LOGS}, _run, bears_object=True),
    "sites:backups": _site_row(GET=A.READ, POST=A.MANAGE_BACKUPS),
    "sites:backup-download": Row({G: A.MANAGE_BACKUPS}, _backup, bears_object=True),
    "sites:backup-restore": Row({G: A.MANAGE_BACKUPS, P: A.MANAGE_BACKUPS}, _backup, bears_object=True),
}


def api_row(methods: dict, fill: Callable[[Targets], dict] = _none, bears_object: bool = False, bodies=None) -> Row:
    return Row(methods, fill, bears_object, bodies or {}, api=True)


def _api_site(**methods: Action) -> Row:
    return api_row(methods, _site, bears_object=True)


API: dict[str, Row] = {
    "api-schema": api_row({G: PUBLIC}),
    "api-sites": api_row({G: SIGNED_IN, P: A.CREATE_SITE}, bodies={P: lambda t: {"name": "swept", "organization": t.organization}}),
    "api-site": api_row({G: A.READ, "PATCH": A.CONFIGURE, "DELETE": A.DELETE_SITE}, _site, bears_object=True,
                       bodies={"PATCH": lambda t: {"writable_paths": []}}),
    "api-deployments": _api_site(GET=A.READ, POST=A.DEPLOY),
    "api-deployment": api_row({G: A.READ}, _deployment, bears_object=True),
    "api-releases": _api_site(GET=A.READ),
    "api-env": _api_site(GET=A.READ, POST=A.CONFIGURE),
    "api-env-var": api_row({G: A.REVEAL_ENV, "DELETE": A.CONFIGURE}, _env, bears_object=True),
    "api-restart": _api_site(POST=A.OPERATE),
    "api-stop": _api_site(POST=A.OPERATE),
    "api-start": _api_site(POST=A.OPERATE),
    "api-rollback": _api_site(POST=A.OPERATE),
    "api-logs": _api_site(GET=A.READ_LOGS),
    "api-domains": _api_site(GET=A.READ, POST=A.MANAGE_DOMAINS),
    "api-domain": api_row({G: A.READ, "DELETE": A.MANAGE_DOMAINS}, _domain, bears_object=True),
    "api-domain-verify": api_row({P: A.MANAGE_DOMAINS}, _domain, bears_object=True),
    "api-traffic": _api_site(GET=A.READ),
    "api-backups": _api_site(GET=A.READ, POST=A.MANAGE_BACKUPS),
    "api-backup-download": api_row({G: A.MANAGE_BACKUPS}, _backup, bears_object=True),
    "api-backup-restore": api_row({P: A.MANAGE_BACKUPS}, _backup, bears_object=True),
    "api-backup-database-download": api_row({G: A.MANAGE_BACKUPS}, _backup_dump, bears_object=True),
    "api-runs": _api_site(GET=A.READ, POST=A.DEPLOY),
    "api-run": api_row({G: A.READ_LOGS}, _run, bears_object=True),
    "api-jobs": _api_site(GET=A.READ, POST=A.DEPLOY),
    "api-job": api_row({G: A.READ, "PATCH": A.DEPLOY, "DELETE": A.DEPLOY}, _job, bears_object=True),
    "api-databases": _api_site(GET=A.READ, POST=A.CONFIGURE),
    "api-database": api_row({G: A.READ, "DELETE": A.DELETE_SITE}, _database, bears_object=True),
    "api-database-rotate": api_row({P: A.CONFIGURE}, _database, bears_object=True),
    "api-database-credentials": api_row({G: A.REVEAL_ENV}, _database, bears_object=True),
    "api-formation": api_row({G: A.READ, "PATCH": A.DEPLOY}, _site, bears_object=True,
                             bodies={"PATCH": lambda t: {"worker": 0}}),
    "api-orgs": api_row({G: PERSONAL}),
    "api-tokens": api_row({G: PERSONAL}),
    "api-token": api_row({"DELETE": PERSONAL}, _token, bears_object=True),
}

TABLE: dict[str, Row] = {**PORTAL, **API}


def url_patterns() -> dict[str, str]:
    """Every pattern of the URLconf, by its name with namespaces ("sites:env"; the route when it has
    no name), and its full route, except the excluded prefixes."""
    found: dict[str, str] = {}
    _walk(get_resolver().url_patterns, "", "", found)
    return {name: route for name, route in found.items() if not route.startswith(tuple(EXCLUDED_PREFIXES))}


def _walk(patterns, namespace: str, prefix: str, found: dict[str, str]) -> None:
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            _walk(pattern.url_patterns, inner, route, found)
        elif isinstance(pattern, URLPattern):
            found[f"{namespace}{pattern.name}" if pattern.name else route] = route


def get_pages() -> dict[str, Row]:
    """The rows of the portal that answer GET: the pages a person opens."""
    return {name: row for name, row in PORTAL.items() if G in row.methods}
