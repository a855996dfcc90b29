"""How many slugs a site keeps: those of its last KEEP_RELEASES releases (and the one running).

A slug can be as large as the site's build disk, and every deploy makes one: without a limit, a
tenant redeploying could fill the disk of the slug store. Rolling back further than that is
refused with a clear message.
"""
from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from sites.models import Release, Site, Slug

KEEP_RELEASES = 10
SETTLE = timedelta(hours=1)


def kept_slug_ids(site: Site) -> set[int]:
    recent = Release.objects.filter(site=site).order_by("-version")[:KEEP_RELEASES]
    kept = {release.slug_id for release in recent}
    if site.current_release_id:
        kept.add(Release.objects.get(pk=site.current_release_id).slug_id)
    return kept


def slugs_to_forget(site: Site) -> list[str]:
    """The sha256 of the site's slugs no kept release uses (their tarballs can go from every host).

    Only slugs made more than an hour ago go: a newer one may belong to a build about to release
    or a start in flight; a slug with no release goes once it is a day old (its release never
    came)."""
    kept = kept_slug_ids(site)
    now = timezone.now()
    released = Q(releases__isnull=False) | Q(created_at__lt=now - timedelta(days=1))
    forget = Slug.objects.filter(released, site=site, created_at__lt=now - SETTLE).exclude(pk__in=kept).exclude(
        sha256__in=Slug.objects.filter(pk__in=kept).values("sha256"))
    return sorted(set(forget.values_list("sha256", flat=True)))


def check_rollback(release: Release) -> None:
    if release.slug_id not in kept_slug_ids(release.site):
        raise ValidationError(
            f"{release.label} is too old to roll back to: the slugs of the last {KEEP_RELEASES} releases are kept."
        )
