"""The portal's site pages: the list (live status), creating a site, the overview with its actions,
deployments with their live log, rollback and delete. Django's test client, with the `world` of
tests/unit/conftest.py: acme's owner/admin/developer/viewer and its site `shop`, globex's owner as
the outsider."""
from __future__ import annotations

import io
import tarfile

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, Plan
from accounts.roles import Action
from accounts.services import add_member, get_or_create_user
from sites.config_crypto import encrypt
from sites.logstream import DeploymentLog
from sites.models import Deployment, Release, Site, Slug
from sites.pipeline.machine import create_release
from sites.portal import deployments as portal_deployments

pytestmark = pytest.mark.django_db

# Every page and action of one site, with the methods it answers.
SITE_URLS = [
    ("overview", "get", {}), ("restart", "post", {}), ("stop", "post", {}), ("start", "post", {}),
    ("delete", "get", {}), ("delete", "post", {"confirm": "shop"}), ("deployments", "get", {}),
    ("deployments", "post", {}), ("rollback", "post", {"release": "v1"}),
]
DEPLOYMENT_URLS = [("deployment", "get"), ("deployment-log", "get")]


def signed_in(who: str) -> Client:
    client = Client()
    client.force_login(get_or_create_user(f"{who}@example.com"))
    return client


def site_url(name: str, site: str = "shop", *args) -> str:
    return reverse(f"sites:{name}", args=[site, *args])


def archive(name: str = "app.tar.gz") -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        page = b"<h1>hello</h1>"
        info = tarfile.TarInfo("index.html")
        info.size = len(page)
        tar.addfile(info, io.BytesIO(page))
    data.seek(0)
    data.name = name
    return data


def add_sites(org: Organization, count: int) -> None:
    """`count` more sites of `org`, each deployed (a release, a succeeded and a running deployment)."""
    plan = org.plan
    for index in range(count):
        site = Site.objects.create(name=f"bulk{Site.objects.count()}-{index}", organization=org, plan=plan)
        slug = Slug.objects.create(site=site, sha256="b" * 64, size_bytes=1, runtime="static", source="abc")
        release = create_release(site, slug, encrypt("{}"), "Deploy")
        Site.objects.filter(pk=site.pk).update(current_release=release)
        Deployment.objects.create(site=site, trigger="push", release=release, state="succeeded")
        Deployment.objects.create(site=site, trigger="push", state="building")


def add_deployments(site: Site, count: int) -> None:
    """`count` more deployments of `site`, each with its own release, by a member."""
    owner = get_or_create_user("owner@example.com")
    for _ in range(count):
        slug = Slug.objects.create(site=site, sha256="c" * 64, size_bytes=1, runtime="static", source="def")
        release = create_release(site, slug, encrypt("{}"), "Deploy")
        Deployment.objects.create(site=site, trigger="push", release=release, state="succeeded", created_by=owner)


def queries_for(client: Client, url: str, **headers) -> int:
    client.get(url, **headers)  # the first request of a session stores its organization: not counted
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **headers).status_code == 200
    return len(queries)


# --- the list ------------------------------------------------------------------------------------


def test_it_lists_only_the_sites_of_the_members_organization(world):
    page = signed_in("viewer").get(reverse("sites:list"))
    assert page.status_code == 200
    assert b"shop" in page.content and b"gshop" not in page.content
    assert f'hx-get="{reverse("sites:list")}?page=1" hx-trigger="every 5s"'.encode() in page.content

    outsider = signed_in("outsider").get(reverse("sites:list"))
    assert b"gshop" in outsider.content and b">shop<" not in outsider.content


def test_a_member_of_two_organizations_sees_the_sites_of_the_one_they_work_in(world):
    add_member(world["org"], "outsider@example.com", "viewer")  # globex's owner joins acme
    client = signed_in("outsider")
    session = client.session
    session["organization"] = "acme"
    session.save()
    page = client.get(reverse("sites:list")).content.decode()
    assert ">shop<" in page and "gshop" not in page

    session["organization"] = "globex"
    session.save()
    page = client.get(reverse("sites:list")).content.decode()
    assert "gshop" in page and ">shop<" not in page


def test_it_shows_many_sites_a_page_at_a_time(world):
    Plan.objects.filter(pk=world["org"].plan_id).update(max_sites=100)
    add_sites(world["org"], 59)
    client = signed_in("owner")
    first = client.get(reverse("sites:list")).content.decode()
    second = client.get(reverse("sites:list"), {"page": 2}).content.decode()
    assert "60 of 100 sites used" in first
    assert first.count('<tr>') - 1 == 50 and second.count('<tr>') - 1 == 10  # the header's row, then the sites
    assert f'hx-get="{reverse("sites:list")}?page=2"' in second


def test_it_answers_the_live_status_rows_to_htmx(world):
    Deployment.objects.create(site=world["site"], trigger="push", state="building")
    Site.objects.filter(pk=world["site"].pk).update(current_release=None)
    rows = signed_in("owner").get(reverse("sites:list"), HTTP_HX_REQUEST="true")
    assert rows.status_code == 200
    assert b"<html" not in rows.content and b"<tr>" in rows.content
    assert b'<span class="badge deploying">deploying</span>' in rows.content


def test_it_invites_to_create_a_first_site(world):
    Site.objects.filter(organization=world["org"]).delete()
    page = signed_in("owner").get(reverse("sites:list"))
    assert b"No sites yet" in page.content and reverse("sites:create").encode() in page.content


def test_the_list_costs_the_same_queries_for_5_and_30_sites(world, settings):
    Plan.objects.filter(pk=world["org"].plan_id).update(max_sites=100)
    client = signed_in("owner")
    add_sites(world["org"], 4)
    few = queries_for(client, reverse("sites:list")), queries_for(client, reverse("sites:list"), HTTP_HX_REQUEST="true")
    add_sites(world["org"], 25)
    many = queries_for(client, reverse("sites:list")), queries_for(client, reverse("sites:list"), HTTP_HX_REQUEST="true")
    assert Site.objects.filter(organization=world["org"]).count() == 30
    assert few == many


# --- creating a site -----------------------------------------------------------------------------


def test_it_creates_a_site_and_shows_its_overview(world):
    Plan.objects.filter(pk=world["org"].plan_id).update(max_sites=5)
    client = signed_in("admin")
    response = client.post(reverse("sites:create"), {"name": "blog", "runtime": "python"})
    assert response.status_code == 302 and response["Location"] == site_url("overview", "blog")
    site = Site.objects.get(name="blog")
    assert (site.organization, site.runtime) == (world["org"], "python")
    assert b"git remote add hosting" in client.get(response["Location"]).content


@pytest.mark.parametrize("name, error", [
    ("Bad_Name", "is not a valid site name"),
    ("www", "is reserved"),
    ("gshop", "This name is taken"),  # globex's: taken across the platform, without saying by whom
])
def test_it_refuses_a_bad_or_taken_name_and_creates_nothing(world, name, error):
    Plan.objects.filter(pk=world["org"].plan_id).update(max_sites=5)
    before = Site.objects.count()
    page = signed_in("owner").post(reverse("sites:create"), {"name": name, "runtime": "auto"})
    assert page.status_code == 400 and error in page.content.decode()
    assert b"globex" not in page.content
    assert Site.objects.count() == before


def test_at_the_plans_limit_it_says_so_disables_the_button_and_creates_nothing(world):
    Plan.objects.filter(pk=world["org"].plan_id).update(max_sites=1)
    client = signed_in("owner")
    form = client.get(reverse("sites:create")).content.decode()
    assert "1 of 1 sites used" in form and "all of them are used" in form
    assert '<button type="submit" disabled' in form

    page = client.post(reverse("sites:create"), {"name": "blog", "runtime": "auto"})
    assert page.status_code == 400 and "Your plan allows 1 sites" in page.content.decode()
    assert not Site.objects.filter(name="blog").exists()


def test_a_role_that_may_not_create_sites_gets_403(world):
    assert signed_in("developer").post(reverse("sites:create"), {"name": "blog"}).status_code == 403
    assert not Site.objects.filter(name="blog").exists()


@pytest.mark.parametrize("name, answer", [
    ("blog", "blog is available."),
    ("gshop", "This name is taken"),
    ("9lives", "is not a valid site name"),
    ("api", "is reserved"),
])
def test_it_checks_the_name_as_it_is_typed(world, name, answer):
    fragment = signed_in("owner").get(reverse("sites:check-name"), {"name": name}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and answer in fragment.content.decode()
    assert b"<html" not in fragment.content


def test_the_create_form_checks_the_name_while_typing(world):
    form = signed_in("owner").get(reverse("sites:create")).content.decode()
    assert f'hx-get="{reverse("sites:check-name")}"' in form and 'hx-trigger="input changed delay:300ms"' in form  # typing, pasting, autofill
    assert '<label for="site-name">Site name</label>' in form and '<label for="site-runtime">Runtime</label>' in form


# --- who may see and do what ---------------------------------------------------------------------


def test_the_outsider_gets_404_on_every_page_and_action_of_the_site(world):
    client = signed_in("outsider")
    deployment = world["deployment"].pk
    for name, method, data in SITE_URLS:
        assert getattr(client, method)(site_url(name), data).status_code == 404, (name, method)
    for name, method in DEPLOYMENT_URLS:
        assert getattr(client, method)(site_url(name, "shop", deployment)).status_code == 404, name
    assert Site.objects.filter(name="shop").exists()


@pytest.mark.parametrize("who, forbidden", [
    ("viewer", ["restart", "stop", "start", "rollback", "deployments", "delete"]),
    ("developer", ["delete"]),
])
def test_a_role_that_may_not_gets_403(world, who, forbidden):
    client = signed_in(who)
    for name, method, data in SITE_URLS:
        if name in forbidden and (method == "post" or name == "delete"):
            assert getattr(client, method)(site_url(name), data).status_code == 403, (who, name, method)
    assert Site.objects.get(name="shop").desired_state == "running"
    assert Deployment.objects.filter(site=world["site"]).count() == 1


def test_the_viewer_sees_no_buttons_it_may_not_use(world):
    page = signed_in("viewer").get(site_url("overview")).content.decode()
    assert "Restart</button>" not in page and 'id="archive"' not in page and site_url("delete") not in page
    assert signed_in("viewer").get(site_url("deployments")).content.decode().count("Roll back to") == 0


# --- overview and actions ------------------------------------------------------------------------


def test_the_overview_shows_the_release_the_git_remote_and_the_first_push(world):
    page = signed_in("developer").get(site_url("overview")).content.decode()
    site = world["site"]
    assert f'<code id="git-remote" class="copyable">{site.git_url}</code>' in page
    assert '<button type="button" class="small secondary" data-copy="git-remote">Copy</button>' in page
    for command in ("git init", "git add .", 'git commit -m "First deploy"',
                    f"git remote add hosting {site.git_url}", "git push hosting main"):
        assert command in page
    assert reverse("accounts:tokens") in page
    assert "<strong>v1</strong>" in page and 'enctype="multipart/form-data"' in page
    assert site_url("deployment", "shop", world["deployment"].pk) in page


def test_the_overview_reads_one_deployment_of_a_release_deployed_many_times(world):
    site = world["site"]
    Deployment.objects.bulk_create([Deployment(site=site, trigger="restart", release=site.current_release,
                                               state="succeeded")] * 30)
    with CaptureQueriesContext(connection) as queries:
        page = signed_in("viewer").get(site_url("overview"))
    assert page.status_code == 200
    unbounded = [q["sql"] for q in queries.captured_queries
                 if '"sites_deployment"."release_id" =' in q["sql"] and "LIMIT" not in q["sql"]]
    assert unbounded == []


def test_the_overview_points_to_a_deployment_that_runs(world):
    running = Deployment.objects.create(site=world["site"], trigger="push", state="building")
    page = signed_in("viewer").get(site_url("overview")).content.decode()
    assert f'Deployment #{running.pk} (git push) is building.' in page
    assert f'<a href="{site_url("deployment", "shop", running.pk)}">Follow its log</a>' in page


def test_restart_starts_a_deployment_and_shows_it(world):
    response = signed_in("developer").post(site_url("restart"))
    restart = Deployment.objects.get(site=world["site"], trigger="restart")
    assert response.status_code == 302 and response["Location"] == site_url("deployment", "shop", restart.pk)
    assert restart.created_by.email == "developer@example.com"


def test_stop_marks_the_site_stopped_and_start_runs_it_again(world):
    client = signed_in("developer")
    assert client.post(site_url("stop")).status_code == 302
    assert Site.objects.get(name="shop").desired_state == "stopped"
    assert b">Start</button>" in client.get(site_url("overview")).content
    assert client.post(site_url("start")).status_code == 302
    assert Site.objects.get(name="shop").desired_state == "running"


def test_restart_of_a_site_with_nothing_deployed_says_why(world):
    Site.objects.filter(pk=world["site"].pk).update(current_release=None)
    client = signed_in("developer")
    response = client.post(site_url("restart"), follow=True)
    assert b"Nothing is deployed yet." in response.content
    assert not Deployment.objects.filter(trigger="restart").exists()


# --- deployments ---------------------------------------------------------------------------------


def test_an_uploaded_archive_starts_a_deployment(world):
    response = signed_in("developer").post(site_url("deployments"), {"archive": archive()})
    upload = Deployment.objects.get(site=world["site"], trigger="archive")
    assert response.status_code == 302 and response["Location"] == site_url("deployment", "shop", upload.pk)
    assert upload.source == "archive app.tar.gz"


def test_an_upload_that_is_not_an_archive_is_refused_with_the_reason(world):
    page = io.BytesIO(b"<html>this is a web page, not an archive</html>\n")
    page.name = "app.tar.gz"
    response = signed_in("developer").post(site_url("deployments"), {"archive": page}, follow=True)
    assert "app.tar.gz is not a .tar.gz, .tar or .zip archive (by its content); nothing was deployed." in (
        response.content.decode())
    assert not Deployment.objects.filter(trigger="archive").exists()


def test_an_upload_still_needs_the_forms_csrf_token(world):
    # The view reads the form itself (after the plan's limit is in place), so it checks CSRF itself.
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_or_create_user("developer@example.com"))
    assert client.post(site_url("deployments"), {"archive": archive()}).status_code == 403
    assert not Deployment.objects.filter(trigger="archive").exists()

    client.get(site_url("overview"))  # sets the CSRF cookie, as the page with the form does
    token = client.cookies["csrftoken"].value
    assert client.post(site_url("deployments"), {"csrfmiddlewaretoken": token, "archive": archive()}).status_code == 302
    assert Deployment.objects.filter(trigger="archive").count() == 1


def test_the_views_declare_the_actions_they_ask(world):
    # The authorization sweep reads them: the CSRF wrapper of the upload keeps them.
    assert portal_deployments.deployments.actions == {"GET": Action.READ, "POST": Action.DEPLOY}


def test_an_upload_without_an_archive_says_so_and_deploys_nothing(world):
    response = signed_in("developer").post(site_url("deployments"), {}, follow=True)
    assert b"Choose an archive" in response.content
    assert not Deployment.objects.filter(trigger="archive").exists()


def test_an_archive_over_the_plans_limit_is_refused(world):
    Plan.objects.filter(pk=world["org"].plan_id).update(max_push_mb=1)
    client = signed_in("developer")
    # Declared past the limit: refused before a byte is read. Declared within the form's slack over
    # the limit: cut while it streams in.
    for size in (2 * 2**20, 2**20 + 10 * 1024):
        big = io.BytesIO(b"x" * size)
        big.name = "big.zip"
        response = client.post(site_url("deployments"), {"archive": big}, follow=True)
        assert b"larger than your plan allows (1 MB)" in response.content, size
    assert not Deployment.objects.filter(trigger="archive").exists()


def test_the_history_and_releases_cost_the_same_queries_for_10_and_50_rows(world):
    client = signed_in("owner")
    add_deployments(world["site"], 9)
    few = queries_for(client, site_url("deployments"))
    add_deployments(world["site"], 40)
    many = queries_for(client, site_url("deployments"))
    assert Deployment.objects.filter(site=world["site"]).count() == 50
    assert few == many


def test_the_deployments_page_offers_rollback_to_earlier_releases_only(world):
    add_deployments(world["site"], 1)  # v2, not current: v1 serves
    page = signed_in("developer").get(site_url("deployments")).content.decode()
    assert "Roll back to v2</button>" in page and "Roll back to v1</button>" not in page
    assert "git push" in page and "owner@example.com" in page


def test_the_releases_show_what_became_of_them_without_loading_their_deployments(world):
    site = world["site"]
    add_deployments(site, 1)  # v2: went live, then restarted many times
    v2 = Release.objects.get(site=site, version=2)
    Deployment.objects.bulk_create([Deployment(site=site, trigger="restart", release=v2, state="failed")] * 30)
    for version, state in ((3, "failed"), (4, "building")):
        slug = Slug.objects.create(site=site, sha256="d" * 64, size_bytes=1, runtime="static", source="ghi")
        Deployment.objects.create(site=site, trigger="push", state=state,
                                  release=create_release(site, slug, encrypt("{}"), f"Deploy {version}"))
    client = signed_in("developer")
    client.get(site_url("deployments"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(site_url("deployments")).content.decode()
    assert not [q for q in queries.captured_queries if q["sql"].startswith('SELECT "sites_deployment"."id", "sites_deployment"."site_id"')
                and '"release_id" IN' in q["sql"]]  # no deployments of the releases fetched row by row
    statuses = {version: page.split(f"<strong>v{version}</strong>")[1].split('class="badge ')[1].split('"')[0]
                for version in (1, 2, 3, 4)}
    assert statuses == {1: "current", 2: "succeeded", 3: "failed", 4: "pending"}
    assert "Roll back to v2</button>" in page and "Roll back to v3" not in page and "Roll back to v4" not in page
    assert "owner@example.com" in page.split("<strong>v2</strong>")[1].split("</tr>")[0]


def test_rollback_starts_a_deployment_of_the_release(world):
    add_deployments(world["site"], 1)
    response = signed_in("developer").post(site_url("rollback"), {"release": "v2"})
    rollback = Deployment.objects.get(site=world["site"], trigger="rollback")
    assert response.status_code == 302 and response["Location"] == site_url("deployment", "shop", rollback.pk)
    assert rollback.release.slug == Release.objects.get(site=world["site"], version=2).slug


def test_rollback_to_a_release_that_does_not_exist_says_so(world):
    response = signed_in("developer").post(site_url("rollback"), {"release": "v9"}, follow=True)
    assert b"There is no release v9." in response.content
    assert not Deployment.objects.filter(trigger="rollback").exists()


def test_a_failed_deployment_shows_its_reason(world):
    failed = Deployment.objects.create(site=world["site"], trigger="push", state="failed",
                                       error="The app did not answer on $PORT within 60 s.", log="-----> Building\n")
    page = signed_in("viewer").get(site_url("deployment", "shop", failed.pk)).content.decode()
    assert '<span id="deployment-state" class="badge failed">failed</span>' in page
    assert "The app did not answer on $PORT within 60 s." in page
    assert 'id="log-poller"' in page and "hx-get" not in page.split('id="log-poller"')[1].split(">")[0]


def test_a_running_deployment_page_follows_its_log(world):
    running = Deployment.objects.create(site=world["site"], trigger="push", state="building")
    with DeploymentLog(running.pk) as log:
        log.write("-----> Building")
    page = signed_in("viewer").get(site_url("deployment", "shop", running.pk)).content.decode()
    assert '<span id="deployment-state" class="badge building">building</span>' in page
    poll = f'hx-get="{site_url("deployment-log", "shop", running.pk)}?after={len("-----> Building")+1}"'
    assert poll in page and 'hx-trigger="every 1s"' in page and 'hx-swap="beforeend' in page


def test_the_log_endpoint_returns_the_tail_after_an_offset_until_the_deployment_finishes(world):
    running = Deployment.objects.create(site=world["site"], trigger="push", state="building")
    client = signed_in("viewer")
    url = site_url("deployment-log", "shop", running.pk)
    with DeploymentLog(running.pk) as log:
        log.write("first line")
        log.write("second <line>")
    tail = client.get(url, {"after": len("first line\n")}, HTTP_HX_REQUEST="true")
    text = tail.content.decode()
    assert tail.status_code == 200
    assert text.startswith("second &lt;line&gt;\n<template>") and "first line" not in text
    so_far = len("first line\nsecond <line>\n")
    assert f'?after={so_far}"' in text  # the next poll starts where this one ended
    assert not text.endswith("\n")

    Deployment.objects.filter(pk=running.pk).update(state="succeeded", log="first line\nsecond <line>\nlast\n")
    done = client.get(url, {"after": so_far}, HTTP_HX_REQUEST="true")
    text = done.content.decode()
    assert done.status_code == 286  # htmx stops polling
    assert text.startswith("last\n<template>")
    assert '<span id="deployment-state" class="badge succeeded">succeeded</span>' in text
    assert "hx-get" not in text


# --- delete --------------------------------------------------------------------------------------


def test_delete_asks_for_the_name_and_deletes_only_when_it_is_typed_exactly(world):
    client = signed_in("admin")
    assert b"Type the site name to confirm" in client.get(site_url("delete")).content
    for wrong in ("", "SHOP", "sho"):
        page = client.post(site_url("delete"), {"confirm": wrong})
        assert page.status_code == 400 and b"nothing was deleted" in page.content
    assert Site.objects.filter(name="shop").exists()

    response = client.post(site_url("delete"), {"confirm": "shop"})
    assert response.status_code == 302 and response["Location"] == reverse("sites:list")
    assert not Site.objects.filter(name="shop").exists()
    assert b"Deleted shop" in client.get(reverse("sites:list")).content
