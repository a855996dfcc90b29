"""Tenancy is structural: views reach an organization's rows only through the member scope.

A view module (the API, git over HTTP, any views module) that writes `<Model>.objects` has left the
scope: nothing would stop it returning another organization's rows. These tests read the code
(with `ast`) and the URL table, so a new view that forgets fails here before any request is made.
"""
from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from accounts.scope import MemberAPIView

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "config", "core", "hosting", "proxy", "sites", "support", "backups")
# Rows of an organization (through its sites) or of one user: each has a `for_member` way in.
TENANT_MODELS = {"Site", "Domain", "Deployment", "Release", "EnvVar", "Slug", "Membership", "ApiToken", "Run",
                 "ScheduledJob", "Database"}


def view_modules() -> list[Path]:
    """The API packages and modules, git over HTTP, and every views module of every app."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT / app)
            if "migrations" in relative.parts:
                continue
            first = relative.parts[0]
            if first.startswith(("api", "views")) or path.stem.startswith("views") or path.name == "git_http.py":
                found.append(path)
    return found


def model_names() -> set[str]:
    return {model.__name__ for model in apps.get_models()}


def direct_queries(path: Path, names: set[str]) -> list[str]:
    """`Model.objects` (or its _default_manager / _base_manager) for any model named in `names`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager", "_base_manager"}
                and isinstance(node.value, ast.Name) and node.value.id in names):
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_it_knows_the_view_modules():
    names = {str(path.relative_to(ROOT)) for path in view_modules()}
    assert {"sites/api/sites.py", "sites/api/domains.py", "sites/git_http.py", "accounts/api.py",
            "config/views.py"} <= names


def test_it_finds_a_direct_query_when_there_is_one(tmp_path):
    # The check itself can fail: a view that queries a tenant's model directly is caught.
    view = tmp_path / "views.py"
    view.write_text("from sites.models import Site\n\ndef show(request, name):\n"
                    "    return Site.objects.get(name=name)\n")
    assert direct_queries(view, model_names()) == [f"{view}:4: Site.objects"]


def test_every_tenant_model_has_a_member_scope():
    models = {model.__name__: model for model in apps.get_models()}
    for name in TENANT_MODELS:
        assert hasattr(models[name].objects, "for_member"), f"{name} has no for_member scope"


def test_no_view_module_queries_a_model_directly():
    # Not only tenant models: a view that reads any model itself (a certificate, traffic) skips the
    # service that owns it, and a tenant model's rows would then be a step away.
    names = model_names()
    assert TENANT_MODELS <= names
    found = [hit for path in view_modules() for hit in direct_queries(path, names)]
    assert found == [], "views must reach rows through self.member (a MemberAPIView's scope) or a service:\n" \
        + "\n".join(found)


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield prefix + str(pattern.pattern), view_class


def test_every_api_view_enters_through_the_member_scope():
    views = dict(_api_views(get_resolver().url_patterns))
    assert "api/v1/sites/<str:name>/traffic/" in views
    # The staff API is no member's: it answers staff with two-factor and the admin's permissions only
    # (staff/api.py, tests/unit/test_staff_api.py).
    outside = [f"{route}: {view.__name__}" for route, view in views.items()
               if not issubclass(view, MemberAPIView) and route != "api/v1/schema/"
               and not route.startswith("api/v1/admin/")]
    assert outside == []
