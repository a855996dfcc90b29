"""A site's deployments: the history with its releases (and rollback to one), an archive upload,
and one deployment's page whose log follows while it runs."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts.roles import Action
from core.portal import attempt, back, failed
from sites import services, slugs, uploads
from sites.portal.abilities import abilities
from sites.portal.base import site_view
from sites.portal.pages import render_tab

DEPLOYMENTS_PER_PAGE = 25
RELEASES_PER_PAGE = 10
STOP_POLLING = 286  # htmx stops polling on this status: the deployment finished
NO_ARCHIVE = "Choose an archive (.tar.gz, .tar or .zip) of your app's source to upload."


# CSRF is checked in _receive_archive, after the plan's upload limit is in place: the check reads the
# form, and so the upload, which must already be cut at the limit (Django's documented pattern).
@csrf_exempt
@site_view(GET=Action.READ, POST=Action.DEPLOY)
def deployments(request, site):
    if request.method == "POST":
        try:
            limit = uploads.limit_upload(request, site.plan.max_push_mb)
        except uploads.UploadTooLarge as exc:  # its declared length is past the limit: not read at all
            messages.error(request, str(exc.detail))
            return back(request, "sites:overview", site.name)
        return _receive_archive(request, site, limit)
    history = Paginator(site.deployments.select_related("release", "created_by"), DEPLOYMENTS_PER_PAGE)
    releases = Paginator(site.releases.select_related("slug").with_outcome(), RELEASES_PER_PAGE)
    return render_tab(request, site, "deployments", "sites/deployments.html",
                      page=history.get_page(request.GET.get("page")),
                      releases=releases.get_page(request.GET.get("releases")),
                      kept_slugs=slugs.kept_slug_ids(site), can=abilities(request, site))


@csrf_protect
def _receive_archive(request, site, limit: uploads.PlanLimitUploadHandler):
    archive = request.FILES.get("archive")
    if limit.exceeded:
        messages.error(request, str(uploads.UploadTooLarge(limit.limit_mb).detail))
    elif archive is None:
        messages.error(request, NO_ARCHIVE)
    else:
        deployment = attempt(request, services.deploy_archive, site, archive, by=request.user)
        if not failed(deployment):
            messages.success(request, f"Uploaded {archive.name}; the build has started.")
            return redirect("sites:deployment", site.name, deployment.pk)
    return back(request, "sites:overview", site.name)


def _deployment_of(site, deployment_id: int):
    return get_object_or_404(site.deployments.select_related("release__slug", "created_by"), pk=deployment_id)


@site_view(GET=Action.READ)
def deployment(request, site, deployment_id: int):
    shown = _deployment_of(site, deployment_id)
    log = shown.log_so_far
    return render_tab(request, site, "deployments", "sites/deployment.html", deployment=shown, log=log,
                      offset=len(log))


@site_view(GET=Action.READ)
def deployment_log(request, site, deployment_id: int):
    """The log after `?after=<chars>`, with the deployment's summary and the next poll (out of
    band); 286 once the deployment finished, which stops the page's polling."""
    shown = _deployment_of(site, deployment_id)
    after = request.GET.get("after", "0")
    after = int(after) if after.isdigit() else 0
    log = shown.log_so_far  # the row's state and log were read together: a finished one is complete
    fragment = render_to_string("sites/_deployment_log_tail.html", {
        "site": site, "deployment": shown, "tail": log[after:], "offset": max(after, len(log)),
    }, request=request)
    # The fragment is appended to the log as it is: no newline of the template file may follow it.
    return HttpResponse(fragment.rstrip("\n"), status=STOP_POLLING if shown.finished else 200)


@site_view(POST=Action.OPERATE)
def rollback(request, site):
    version = request.POST.get("release", "")
    deployment = attempt(request, services.rollback, site, version, by=request.user)
    if failed(deployment):
        return back(request, "sites:deployments", site.name)
    messages.success(request, f"Rolling back to {version}: a new release with its code and config is starting.")
    return redirect("sites:deployment", site.name, deployment.pk)


urlpatterns = [
    path('sites/<str:name>/deployments/', deployments, name='deployments'),
    path('sites/<str:name>/deployments/<int:deployment_id>/', deployment, name='deployment'),
    path('sites/<str:name>/deployments/<int:deployment_id>/log/', deployment_log, name='deployment-log'),
    path('sites/<str:name>/rollback/', rollback, name='rollback'),
]
