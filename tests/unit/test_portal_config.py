"""The Environment and Settings tabs: values masked until a member allowed to see them asks, every
change through the services (a new release for env), each role's rights, and constant query counts."""
from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from accounts.services import mark_suspended
from sites.config_crypto import decrypt, encrypt
from sites.models import Deployment, EnvVar, Site
from tests.unit.portal_client import queries_of, signed_in

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-Value-42"
ENV = "/sites/shop/env/"
SETTINGS = "/sites/shop/settings/"


@pytest.fixture
def secret(world):
    EnvVar.objects.create(site=world["site"], key="API_TOKEN", encrypted_value=encrypt(SECRET))


def _values(site) -> dict[str, str]:
    return {var.key: decrypt(var.encrypted_value) for var in EnvVar.objects.filter(site=site)}


# --- who may ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, url", [
    ("get", ENV), ("post", ENV), ("post", ENV + "A/reveal/"), ("post", ENV + "A/delete/"),
    ("get", SETTINGS), ("post", SETTINGS),
])
def test_the_outsider_gets_404_everywhere(world, method, url):
    assert getattr(signed_in("outsider"), method)(url, {"key": "B", "value": "2"}).status_code == 404


@pytest.mark.parametrize("url, data", [
    (ENV, {"key": "B", "value": "2"}), (ENV + "A/reveal/", {}), (ENV + "A/delete/", {}),
    (SETTINGS, {"form": "app", "writable_paths": "uploads"}),
])
def test_a_viewer_may_not_change_or_reveal(world, secret, url, data):
    before = _values(world["site"])
    response = signed_in("viewer").post(url, data)
    assert response.status_code == 403
    assert SECRET.encode() not in response.content and _values(world["site"]) == before


def test_a_developer_may_not_change_https(world):
    response = signed_in("developer").post(SETTINGS, {"form": "https", "force_https": "on", "hsts": "on"})
    assert response.status_code == 403
    site = Site.objects.get(pk=world["site"].pk)
    assert not site.force_https and not site.hsts


def test_a_viewer_sees_names_but_no_reveal_or_change_controls(world, secret):
    page = signed_in("viewer").get(ENV).content.decode()
    assert "API_TOKEN" in page and SECRET not in page
    assert "/reveal/" not in page and "/delete/" not in page and "Set variable" not in page


# --- env -------------------------------------------------------------------------------------------

def test_values_are_masked_in_the_page(world, secret):
    page = signed_in("owner").get(ENV).content.decode()
    assert "API_TOKEN" in page and "••••••••" in page
    assert SECRET not in page and "/sites/shop/env/API_TOKEN/reveal/" in page


def test_a_developer_reveals_one_value_with_htmx(world, secret):
    response = signed_in("developer").post(ENV + "API_TOKEN/reveal/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and SECRET in body and 'id="env-API_TOKEN"' in body
    assert "<html" not in body and "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="env.reveal", target="API_TOKEN").exists()


def test_without_javascript_reveal_shows_the_page_with_that_value_only(world, secret):
    EnvVar.objects.create(site=world["site"], key="OTHER", encrypted_value=encrypt("other-secret"))
    body = signed_in("admin").post(ENV + "API_TOKEN/reveal/").content.decode()
    assert SECRET in body and "other-secret" not in body and "<html" in body


def test_setting_a_variable_makes_a_release_and_links_its_deployment(world):
    response = signed_in("developer").post(ENV, {"key": "GREETING", "value": "hello"}, follow=True)
    deployment = Deployment.objects.filter(site=world["site"], trigger="config").get()
    page = response.content.decode()
    assert _values(world["site"])["GREETING"] == "hello"
    assert f"Set GREETING: new release {deployment.release.label} is being deployed" in page
    assert f'href="/sites/shop/deployments/{deployment.pk}/"' in page


def test_before_the_first_deploy_it_says_the_value_waits_for_it(world):
    Site.objects.filter(pk=world["site"].pk).update(current_release=None)
    page = signed_in("owner").post(ENV, {"key": "GREETING", "value": "hi"}, follow=True).content.decode()
    assert "Nothing is deployed yet: the first deploy uses it" in page
    assert not Deployment.objects.filter(site=world["site"], trigger="config").exists()


def test_several_variables_at_once_from_dotenv_text(world):
    text = "# comment\nexport ONE=1\nTWO='two words'\n\nTHREE=\"x=y\"\n"
    signed_in("owner").post(ENV, {"dotenv": text})
    assert _values(world["site"]) == {"A": "1", "ONE": "1", "TWO": "two words", "THREE": "x=y"}
    assert Deployment.objects.filter(site=world["site"], trigger="config").count() == 1


@pytest.mark.parametrize("data, error", [
    ({"key": "1BAD", "value": "x"}, "&#x27;1BAD&#x27; is not a valid variable name"),
    ({"key": "PORT", "value": "80"}, "PORT is set by the platform and cannot be changed."),
    ({"key": "OK", "value": "a\x00b"}, "The value of OK contains a NUL character."),
    ({"dotenv": "GOOD=1\nno equals sign"}, "Line 2 is not NAME=value."),
    ({"dotenv": "GOOD=1\n9LIVES=x"}, "&#x27;9LIVES&#x27; is not a valid variable name"),
])
def test_a_bad_key_or_value_shows_the_error_and_changes_nothing(world, data, error):
    before = _values(world["site"])
    response = signed_in("owner").post(ENV, data)
    assert response.status_code == 400 and error in response.content.decode()
    assert _values(world["site"]) == before
    assert not Deployment.objects.filter(site=world["site"], trigger="config").exists()


def test_deleting_a_variable_unsets_it_with_a_new_release(world, secret):
    page = signed_in("developer").post(ENV + "API_TOKEN/delete/", follow=True).content.decode()
    assert "API_TOKEN" not in _values(world["site"])
    assert "Removed API_TOKEN: new release" in page


def test_env_page_query_count_does_not_grow_with_variables(world):
    site = world["site"]
    EnvVar.objects.bulk_create([EnvVar(site=site, key=f"FEW_{i}", encrypted_value=encrypt("x")) for i in range(5)])
    few = queries_of(ENV)
    EnvVar.objects.bulk_create([EnvVar(site=site, key=f"MANY_{i}", encrypted_value=encrypt("x")) for i in range(25)])
    assert queries_of(ENV) == few


# --- settings --------------------------------------------------------------------------------------

def test_settings_show_the_plan_and_the_danger_zone(world):
    page = signed_in("owner").get(SETTINGS).content.decode()
    plan = world["org"].plan
    assert f"{plan.memory_mb} MB" in page and f"{plan.max_push_mb} MB" in page and f"{plan.disk_mb} MB" in page
    assert "Danger zone" in page and 'href="/sites/shop/delete/"' in page


def test_a_developer_changes_writable_paths_and_the_health_check(world):
    response = signed_in("developer").post(SETTINGS, {"form": "app", "writable_paths": "uploads\n\n data/cache \n",
                                                    "health_check_path": "/healthz"})
    site = Site.objects.get(pk=world["site"].pk)
    assert response.status_code == 302
    assert site.writable_paths == ["data/cache", "uploads"] and site.health_check_path == "/healthz"


def test_an_admin_turns_on_https_and_hsts(world):
    signed_in("admin").post(SETTINGS, {"form": "https", "force_https": "on", "hsts": "on"})
    site = Site.objects.get(pk=world["site"].pk)
    assert site.force_https and site.hsts
    signed_in("admin").post(SETTINGS, {"form": "https"})
    site = Site.objects.get(pk=world["site"].pk)
    assert not site.force_https and not site.hsts


@pytest.mark.parametrize("data, error", [
    ({"writable_paths": "../etc", "health_check_path": "/ok"}, "is not a valid writable path"),
    ({"writable_paths": "uploads", "health_check_path": "no slash"}, "is not a valid health check path"),
])
def test_bad_settings_show_the_error_and_change_nothing(world, data, error):
    response = signed_in("owner").post(SETTINGS, {"form": "app", **data})
    site = Site.objects.get(pk=world["site"].pk)
    assert response.status_code == 400 and error in response.content.decode()
    assert site.writable_paths == [] and site.health_check_path == ""


def test_revealing_a_variable_that_is_gone_sends_htmx_back_to_the_page(world):
    response = signed_in("owner").post(ENV + "GONE/reveal/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].endswith(ENV)


def test_a_suspended_organization_sees_no_change_controls_and_is_refused(world, secret):
    mark_suspended(world["org"], True, "unpaid invoice")
    page = signed_in("owner").get(ENV).content.decode()
    assert "This organization is suspended" in page and "Set variable" not in page and "/delete/" not in page
    assert "/reveal/" in page  # reading stays allowed
    assert signed_in("owner").post(ENV, {"key": "B", "value": "2"}).status_code == 403
