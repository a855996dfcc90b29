"""Reading the audit log a page at a time, as its page shows it: newest first, optionally of one site."""
from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator

from accounts.audit import events_of
from accounts.models import Organization

PER_PAGE = 50


@dataclass(frozen=True)
class LogPage:
    events: Page
    site: str
    sites: list[str]  # the site names that occur in the organization's log, to filter by


def site_names(organization: Organization) -> list[str]:
    """Every site name the organization's log mentions, deleted sites' too (one indexed query)."""
    names = (events_of(organization).exclude(site_name="").order_by("site_name")
             .values_list("site_name", flat=True).distinct())
    return list(names)


def page_of_events(organization: Organization, site: str = "", page: int | str = 1) -> LogPage:
    """Page `page` (a bad number is the nearest page) of the organization's events, of `site` only
    when it is given. The queries do not grow with the rows: a count, the page, the site names."""
    site = (site or "").strip()[:40]
    events = events_of(organization, site)
    return LogPage(Paginator(events, PER_PAGE).get_page(page), site, site_names(organization))
