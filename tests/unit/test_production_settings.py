"""Production settings (PLATFORM_HTTPS=1): Django's deployment checks pass, and only the edge may
say that a request came over HTTPS."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings

from core.forwarded import TrustEdgeOnly

BASE_DIR = Path(__file__).resolve().parents[2]


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "PLATFORM_HTTPS", "PORTAL_URL",
                          "DJANGO_ALLOW_ASYNC_UNSAFE"}}  # the browser tests set it while Chromium runs
    clean.update({"DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_it_passes_the_deployment_checks_with_platform_https(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                     PLATFORM_HTTPS="1", PLATFORM_DOMAIN="example.com")
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_fails_the_deployment_checks_without_it(tmp_path):
    # The check above can fail: plain HTTP settings are not production settings.
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", PLATFORM_DOMAIN="example.com")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_it_serves_the_portal_on_the_platform_domain_over_https(tmp_path):
    code = ("from django.conf import settings as s; "
            "print(s.PORTAL_URL, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
            "s.ALLOWED_HOSTS[0], s.CSRF_TRUSTED_ORIGINS)")
    result = _manage(tmp_path, "shell", "-c", code, PLATFORM_HTTPS="1", PLATFORM_DOMAIN="example.com",
                     PROXY_HTTPS_PORT="443")
    assert result.stdout.splitlines()[-1].split() == ["https://portal.example.com/", "True", "True", "True", "portal.example.com",
                                     "['https://portal.example.com']"], result.stderr


def _through_middleware(**headers: str):
    request = RequestFactory().get("/healthz", **headers)
    TrustEdgeOnly(lambda r: None)(request)
    return request


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_it_believes_x_forwarded_proto_from_the_edge(settings):
    request = _through_middleware(HTTP_X_FORWARDED_PROTO="https", HTTP_X_HOSTING_EDGE=settings.EDGE_PROXY_SECRET)
    assert request.is_secure()
    assert "HTTP_X_HOSTING_EDGE" not in request.META  # the secret goes no further than this


@pytest.mark.parametrize("edge", [None, "", "guessed"])
@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_it_ignores_x_forwarded_proto_from_anyone_else(edge):
    headers = {"HTTP_X_FORWARDED_PROTO": "https", "wsgi.url_scheme": "https"}  # as gunicorn would set it
    if edge is not None:
        headers["HTTP_X_HOSTING_EDGE"] = edge
    request = _through_middleware(**headers)
    assert not request.is_secure()
    assert "HTTP_X_FORWARDED_PROTO" not in request.META
