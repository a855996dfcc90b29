"""Site pages: scheduled jobs and runs (one-off commands and the jobs' runs): the jobs with their
last runs, adding and removing a job, running a command now, and one run's page whose output
follows while it runs (as a deployment's log does)."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path

from accounts.roles import Action
from core.portal import attempt, failed
from sites import runs, schedules
from sites.models import Run, Site
from sites.portal.abilities import abilities
from sites.portal.base import site_view
from sites.portal.pages import render_tab
from sites.run_tasks import SENDER

RUNS_PER_PAGE = 25
STOP_POLLING = 286  # htmx stops polling on this status: the run finished


def _page(request, site: Site, status: int = 200, form: dict | None = None):
    history = Paginator(site.runs.select_related("job", "release", "created_by"), RUNS_PER_PAGE)
    return render_tab(request, site, "jobs", "sites/jobs.html", status=status, jobs=schedules.jobs_of(site),
                      page=history.get_page(request.GET.get("page")), plan=site.plan, form=form or {},
                      may=abilities(request, site, Action.DEPLOY))


@site_view(GET=Action.READ, POST=Action.DEPLOY)
def jobs(request, site: Site):
    """The jobs and runs; POST adds a job."""
    if request.method == "GET":
        return _page(request, site)
    form = {key: request.POST.get(key, "") for key in ("name", "schedule", "command")}
    job = attempt(request, schedules.add_job, site, form["name"], form["schedule"], form["command"], by=request.user)
    if failed(job):
        return _page(request, site, status=400, form=form)
    messages.success(request, f"Scheduled {job.name}; it first runs at {job.next_run_at:%Y-%m-%d %H:%M} UTC.")
    return redirect("sites:jobs", site.name)


@site_view(POST=Action.DEPLOY)
def job_delete(request, site: Site, job_name: str):
    job = request.member.job(site.name, job_name, Action.DEPLOY)
    if not failed(attempt(request, schedules.remove_job, job, by=request.user)):
        messages.success(request, f"Removed the job {job.name}; its past runs stay listed.")
    return redirect("sites:jobs", site.name)


@site_view(POST=Action.DEPLOY)
def run_start(request, site: Site):
    """Run a command now, then follow it on its page."""
    command = request.POST.get("command", "")
    run = attempt(request, runs.start_run, site, command, Run.Trigger.PORTAL, SENDER, by=request.user)
    if failed(run):
        return _page(request, site, status=400, form={"run_command": command})
    return redirect("sites:run", site.name, run.pk)


def _run_of(site: Site, run_id: int) -> Run:
    return get_object_or_404(site.runs.select_related("job", "release", "created_by"), pk=run_id)


@site_view(GET=Action.READ_LOGS)
def run(request, site: Site, run_id: int):
    shown = _run_of(site, run_id)
    output = runs.output_so_far(shown)
    return render_tab(request, site, "jobs", "sites/run.html", run=shown, output=output, offset=len(output))


@site_view(GET=Action.READ_LOGS)
def run_output(request, site: Site, run_id: int):
    """The output after `?after=<chars>`, with the run's summary and the next poll (out of band);
    286 once the run finished, which stops the page's polling."""
    shown = _run_of(site, run_id)
    after = request.GET.get("after", "0")
    after = int(after) if after.isdigit() else 0
    output = runs.output_so_far(shown)  # the row's state and output were read together
    fragment = render_to_string("sites/_run_output_tail.html", {
        "site": site, "run": shown, "tail": output[after:], "offset": max(after, len(output)),
    }, request=request)
    return HttpResponse(fragment.rstrip("\n"), status=STOP_POLLING if shown.finished else 200)


urlpatterns = [
    path('sites/<str:name>/jobs/', jobs, name='jobs'),
    path('sites/<str:name>/jobs/<str:job_name>/delete/', job_delete, name='job-delete'),
    path('sites/<str:name>/runs/', run_start, name='run-start'),
    path('sites/<str:name>/runs/<int:run_id>/', run, name='run'),
    path('sites/<str:name>/runs/<int:run_id>/output/', run_output, name='run-output'),
]
