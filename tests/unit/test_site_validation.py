from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from proxy.validation import InvalidRouteValue, validate_hostname
from sites.hooks import parse_updates
from sites.validation import (
    AppManifest,
    parse_hosting_toml,
    parse_procfile,
    validate_env_key,
    validate_health_check_path,
    validate_site_name,
    validate_writable_paths,
)


@pytest.mark.parametrize("name", ["blog", "my-shop-2", "a" * 40])
def test_it_accepts_site_names_that_are_dns_labels(name):
    assert validate_site_name(name) == name


@pytest.mark.parametrize("name", ["ab", "Blog", "-blog", "blog-", "my_shop", "a" * 41, "shop;rm -rf", "www", "a.b", "x\nserver"])
def test_it_rejects_other_site_names(name):
    with pytest.raises(ValidationError):
        validate_site_name(name)


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", "PORT", "PATH", "", "A=B", "É"])
def test_it_rejects_bad_or_reserved_env_keys(key):
    with pytest.raises(ValidationError):
        validate_env_key(key)


def test_it_reads_a_procfile():
    text = "# processes\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\nrelease: python manage.py migrate\n\n"
    assert parse_procfile(text) == {"web": "gunicorn app:app --bind 0.0.0.0:$PORT", "release": "python manage.py migrate"}


@pytest.mark.parametrize("text, message", [
    ("web gunicorn", "not `name: command`"),
    ("Web: x", "not `name: command`"),
    ("web:", "has no command"),
    ("web: a\nweb: b", "declared twice"),
    ("web: echo \x1b[31m", "control characters"),
])
def test_it_explains_a_bad_procfile(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_procfile(text)


def test_it_reads_writable_paths_from_hosting_toml():
    manifest = parse_hosting_toml('writable_paths = ["uploads", "wp-content/uploads/"]', AppManifest())
    assert manifest.writable_paths == ["uploads", "wp-content/uploads"] and manifest.health_check_path == ""
    with pytest.raises(ValidationError, match="unknown settings"):
        parse_hosting_toml('writeable = ["x"]', AppManifest())
    with pytest.raises(ValidationError, match="not valid TOML"):
        parse_hosting_toml("writable_paths = [", AppManifest())


def test_it_reads_the_health_check_path_from_hosting_toml():
    assert parse_hosting_toml('health_check_path = "/healthz?full=1"', AppManifest()).health_check_path == "/healthz?full=1"
    with pytest.raises(ValidationError, match="hosting.toml: .* starts with '/'"):
        parse_hosting_toml('health_check_path = "healthz"', AppManifest())


@pytest.mark.parametrize("path", ["healthz", "/health check", "/a\nb", "/x\r\nHost: evil", "/" + "a" * 200, "/é", "/<x>"])
def test_it_rejects_bad_health_check_paths(path):
    with pytest.raises(ValidationError, match="not a valid health check path"):
        validate_health_check_path(path)


@pytest.mark.parametrize("path", ["", "/", "/healthz", "/status?full=1&x=y", "/api/v1/ping.json"])
def test_it_accepts_health_check_paths(path):
    assert validate_health_check_path(path) == path


@pytest.mark.parametrize("paths", [["../etc"], ["/"], ["a/../b"], ["up loads"], ["data", "data/sub"], ["x"] * 11 + ["y"]])
def test_it_rejects_bad_writable_paths(paths):
    with pytest.raises(ValidationError):
        validate_writable_paths(paths)


@pytest.mark.parametrize("hostname", ["a.com;", "a.com {", "a.com}", "a.com\nserver", "a com", "$host.com", "a..com", "-a.com"])
def test_nginx_syntax_never_passes_as_a_hostname(hostname):
    with pytest.raises(InvalidRouteValue):
        validate_hostname(hostname)


def test_the_hook_accepts_branch_and_tag_updates_only():
    zero, sha = "0" * 40, "a" * 40
    assert parse_updates([f"{zero} {sha} refs/heads/main"]) == [(zero, sha, "refs/heads/main")]
    for bad in (f"{zero} {sha} refs/notes/x", f"{zero} {sha} refs/heads/a..b", f"{zero} nothex refs/heads/main",
                f"{zero} {sha} refs/heads/$(id)"):
        with pytest.raises(ValidationError):
            parse_updates([bad])
