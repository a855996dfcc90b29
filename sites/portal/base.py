"""How a portal page reaches a site: `site_view`, the portal's side of sites.tenancy.

    @site_view(GET=Action.READ, POST=Action.CONFIGURE)
    def env(request, site): ...

The site is found among the signed-in user's organizations' sites (anyone else gets the 404 of a
site that does not exist, whatever the method), then the role matrix is asked for the action the
request's method names (403 with the reason). Methods not named are 405.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed

from accounts.portal import use_organization
from accounts.roles import Action
from sites.tenancy import NO_SUCH_SITE, SiteMember


def site_view(**actions: Action):
    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, name: str, *args, **kwargs):
            member = SiteMember(request.user)
            site = member.find_site(name)
            if site is None:  # the 404 first, for every method
                raise Http404(NO_SUCH_SITE)
            action = actions.get(request.method)
            if action is None:
                return HttpResponseNotAllowed(list(actions))
            member.authorize_site(site, action)  # one look at the membership: the role for this method
            request.member = member
            if request.session.get("organization") != site.organization.slug:
                use_organization(request, site.organization.slug)  # the navigation shows the site's organization
            return view(request, site, *args, **kwargs)

        wrapper.actions = actions
        return wrapper

    return decorate


def member_view(**actions: Action):
    """A page of the user's sites that is not one site's (the list, creating one): signed in; the
    view asks the member scope itself (`request.member`)."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in actions:
                return HttpResponseNotAllowed(list(actions))
            request.member = SiteMember(request.user)
            return view(request, *args, **kwargs)

        wrapper.actions = actions
        return wrapper

    return decorate
