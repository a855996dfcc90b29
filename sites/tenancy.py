"""A member's sites and what hangs off them: the only way API views and git reach a site.

`SiteMember.site(name, action)` finds the site among the member's organizations' sites (another
organization's site is a 404) and then asks the role matrix and suspension (a 403 with the reason).
Everything else of a site (deployments, domains) is reached from a site found that way.
"""
from __future__ import annotations

from django.http import Http404

from accounts.models import Organization
from accounts.roles import Action
from accounts.scope import Member
from sites.database_models import Database
from sites.domains import stored_hostname
from sites.models import Deployment, Domain, Run, ScheduledJob, Site, SiteBackup

NO_SUCH_SITE = "No such site."
NAMES_SHOWN = 10  # site names a git client is shown when it names none of them


class SiteMember(Member):
    def sites(self):
        """The sites of every organization the user belongs to."""
        return Site.objects.for_member(self.user).select_related("organization", "plan")

    def find_site(self, name: str) -> Site | None:
        """The member's site `name`, without asking the role matrix (git answers 401 for None)."""
        return self.sites().filter(name=name).first()

    def no_such_site(self, name: str) -> str:
        """What a git client is told of a site name that is not among the member's sites: only
        the member's own site names, so another organization's site looks like no site at all."""
        names = list(self.sites().order_by("name").values_list("name", flat=True)[:NAMES_SHOWN + 1])
        if not names:
            return f"No site '{name}' among your sites: you have none yet; create it first with `hosting sites create {name}`."
        more = ", ..." if len(names) > NAMES_SHOWN else ""
        return (f"No site '{name}' among your sites; yours: {', '.join(names[:NAMES_SHOWN])}{more}. "
                f"To deploy a new one, create it first with `hosting sites create {name}`.")

    def site(self, name: str, action: Action = Action.READ) -> Site:
        site = self.find_site(name)
        if site is None:
            raise Http404(NO_SUCH_SITE)
        self.authorize_site(site, action)
        return site

    def authorize_site(self, site: Site, action: Action) -> None:
        """May the user do `action` to `site`? Every API view and git request asks here, and only here."""
        self.authorize(site.organization_id, action, NO_SUCH_SITE)

    def organization_for_new_site(self, slug: str | None) -> Organization:
        return self.organization_for(Action.CREATE_SITE, slug)

    def deployment(self, name: str, deployment_id: int) -> Deployment:
        site = self.site(name)
        deployment = Deployment.objects.for_member(self.user).filter(site=site, pk=deployment_id).first()
        if deployment is None:
            raise Http404("No such deployment.")
        return deployment

    def domain(self, name: str, hostname: str, action: Action = Action.READ) -> Domain:
        site = self.site(name, action)
        domain = Domain.objects.for_member(self.user).filter(site=site, hostname=stored_hostname(hostname)).first()
        if domain is None:
            raise Http404("No such domain on this site.")
        return domain

    def run(self, name: str, run_id: int, action: Action = Action.READ) -> Run:
        site = self.site(name, action)
        run = Run.objects.for_member(self.user).filter(site=site, pk=run_id).select_related(
            "site__organization", "job", "release", "created_by").first()
        if run is None:
            raise Http404("No such run.")
        return run

    def job(self, name: str, job_name: str, action: Action = Action.READ) -> ScheduledJob:
        site = self.site(name, action)
        job = ScheduledJob.objects.for_member(self.user).filter(site=site, name=job_name).select_related("site").first()
        if job is None:
            raise Http404("No such scheduled job.")
        return job

    def database(self, name: str, engine: str, action: Action = Action.READ) -> Database:
        site = self.site(name, action)
        database = Database.objects.for_member(self.user).filter(site=site, engine=engine).select_related(
            "site__plan", "site__organization").first()
        if database is None:
            raise Http404("The site has no database of that engine.")
        return database

    def backup(self, name: str, backup_id: int, action: Action = Action.READ) -> SiteBackup:
        site = self.site(name, action)
        backup = SiteBackup.objects.for_member(self.user).filter(site=site, pk=backup_id).select_related(
            "site__organization", "site__plan").first()
        if backup is None:
            raise Http404("No such backup.")
        return backup
