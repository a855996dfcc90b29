"""A Django app that is more than a web process, on the real stack (tests/apps/django-worker): a
managed PostgreSQL database, `release: python manage.py migrate`, and a `worker:` process (a
management command's loop) that takes jobs from a table and writes their results. A job queued
through the web stays pending until the worker is scaled up through the API, and then the web
shows what the worker did."""
from __future__ import annotations

import re

import pytest
import requests

from accounts.models import Plan
from tests.integration.support.databases import attach_database
from tests.integration.support.databases import database_servers_removed_afterwards  # noqa: F401 (a fixture)
from tests.integration.support.deploying import api, create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("database_servers_removed_afterwards")]

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def queue_job(platform, site: str, text: str) -> str:
    """Queue a job with the app's own form, as a browser does (CSRF cookie and token); returns the job's path."""
    browser = requests.Session()
    browser.headers["Host"] = f"{site}.apps.localhost"
    edge = f"http://127.0.0.1:{platform.edge_port}"
    form = browser.get(f"{edge}/", timeout=10)
    assert form.status_code == 200, form.text
    token = CSRF_FIELD.search(form.text).group(1)
    posted = browser.post(f"{edge}/jobs/", data={"csrfmiddlewaretoken": token, "text": text},
                          allow_redirects=False, timeout=10)
    assert posted.status_code == 302, posted.text
    return posted.headers["Location"]


def test_it_deploys_a_django_app_whose_worker_does_the_jobs_queued_on_the_web(deploy_env, tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    Plan.objects.filter(name="starter").update(max_processes=1)
    site = create_site(deploy_env, "djworker")
    # The database first: the first release then has DATABASE_URL, and its release phase migrates.
    attach_database(platform, owner, site, "postgresql")
    pushed = push(deploy_env, workdir_with(tmp_path, "django-worker"), site)
    assert "Running the release command: python manage.py migrate --noinput" in pushed.stderr, pushed.stderr
    assert "Applying jobs.0001_initial... OK" in pushed.stderr, pushed.stderr
    assert "No jobs yet." in served(platform, site).text

    # Queued through the web while no worker runs (Heroku's default for a new process type: none).
    job = queue_job(platform, site, "hello from the web")
    assert re.fullmatch(r"/jobs/\d+/", job), job
    assert "state: pending" in served(platform, site, job).text

    scaled = api(platform, owner, "PATCH", f"sites/{site}/formation/", json={"worker": 1})
    assert scaled.status_code == 200, scaled.text
    done = wait_for(lambda: "state: done" in (page := served(platform, site, job).text) and page, 90,
                    "the worker to do the job")
    assert "result: WEB THE FROM HELLO (by worker.1)" in done, done

    # The running worker takes the next job at once; the list shows both as done.
    second = queue_job(platform, site, "second job")
    wait_for(lambda: "state: done" in served(platform, site, second).text, 15, "the worker to do the second job")
    listing = served(platform, site).text
    assert listing.count(" done: ") == 2 and "pending" not in listing, listing
    logs = api(platform, owner, "GET", f"sites/{site}/logs/", params={"process": "worker.1"}).json()
    assert "worker.1 waiting for jobs" in logs["lines"], logs
