"""The authorization sweep: every URL of the portal and the API, every method, every kind of visitor.

The expectations come from tests/portal_urls.py, a table written independently of the views, and
from the role matrix (accounts.roles.MATRIX, itself checked against the README's table by
test_role_matrix.py):
- anonymous: a portal page sends them to log in (302 to /login/?next=<path>), the API answers 401;
- a member of another organization: 404 for every URL that names an object, whatever the method;
- each role: 403 exactly where the matrix denies the action, and neither 403 nor 404 where it allows it;
- a method the table does not name: 405 (a GET never does what a POST does);
- a URL of the URLconf that the table lacks fails the sweep.

Requests carry no body (or a harmless one, see the table), so a role that may gets a validation
answer and nothing starts; tasks are sent on commit, which never comes inside a unit test.
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.urls import NoReverseMatch, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from accounts.roles import Action, role_may
from accounts.services import add_member, get_or_create_user, issue_token
from tests.portal_data import seed_database, seed_invitations, seed_runs, seed_tickets
from tests.portal_urls import EXCLUDED_PREFIXES, PUBLIC, TABLE, Targets, targets_for, url_patterns
from tests.unit.test_data_backups import backup_of

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "viewer"]
API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PORTAL_METHODS = ["GET", "POST"]
# Any values do for anonymous requests: signing in comes before any lookup.
ANY_TARGETS = Targets(organization="acme", site="shop", deployment=1, env_key="A", hostname="www.example.com",
                      membership=1, invitation=1, invitation_token="bad-token", reset_uid="MQ", reset_token="bad-token",
                      token_prefix="abcdefabcdef", ticket=1, attachment=1, backup=1)

CASES = [(name, method) for name, row in TABLE.items() for method in row.methods]
UNDECLARED = [(name, method) for name, row in TABLE.items()
              for method in (API_METHODS if row.api else PORTAL_METHODS) if method not in row.methods]


def _ids(cases) -> list[str]:
    return [f"{name}-{method}" for name, method in cases]


@pytest.fixture
def people(world):
    """The world of tests/unit/conftest.py, with one more viewer (whose membership the team URLs
    change), a pending invitation, a support ticket with an attachment, a scheduled job with runs
    and an API token for everybody."""
    add_member(world["org"], "extra@example.com", Role.VIEWER)
    seed_invitations(world["org"], 1)
    seed_tickets(world["org"], 1, 2)
    backup_of(world["site"], b"tarball of shop's /data")
    seed_runs(world["site"], 2)
    seed_database(world["site"])
    users = {who: get_or_create_user(f"{who}@example.com") for who in [*ROLES, "outsider"]}
    tokens = {who: issue_token(user) for who, user in users.items()}
    return {**world, "users": users, "tokens": tokens}


def _call(name: str, method: str, targets: Targets, people=None, who: str | None = None):
    row = TABLE[name]
    client = APIClient()
    if who is not None and row.api:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens'][who]}")
    elif who is not None:
        client.force_login(people["users"][who])
    try:
        url = reverse(name, kwargs=row.fill(targets))
    except NoReverseMatch:
        pytest.fail(f"{name} has a row in tests/portal_urls.py but no URL (or other parameters)")
    return getattr(client, method.lower())(url, row.body(method, targets), **({"format": "json"} if row.api else {}))


def _answer(response) -> str:
    return f"{response.status_code} {response.get('Location', '')} {response.content[:300]!r}"


def _refused(response) -> bool:
    return response.status_code in (401, 403, 404, 405) or response.status_code >= 500


# --- coverage: a URL that is not in the table fails ------------------------------------------------

def test_the_table_covers_every_url_of_the_urlconf():
    patterns = url_patterns()
    assert sorted(patterns.keys() - TABLE.keys()) == [], "URLs without a row in tests/portal_urls.py"
    assert sorted(TABLE.keys() - patterns.keys()) == [], "rows of tests/portal_urls.py with no URL"


def test_the_table_leaves_out_only_the_listed_prefixes():
    """The exclusions are prefixes of routes that exist: a renamed area is not silently skipped."""
    routes = [str(p.pattern) for p in get_resolver().url_patterns]
    for prefix in EXCLUDED_PREFIXES:
        assert any(route.startswith(prefix) for route in routes), prefix


# --- anonymous ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, method", CASES, ids=_ids(CASES))
def test_anonymous_visitors_are_sent_to_log_in(name, method):
    row = TABLE[name]
    response = _call(name, method, ANY_TARGETS)
    if row.methods[method] == PUBLIC:
        login = redirect_to_login(response.request["PATH_INFO"])["Location"]
        assert response.status_code < 500 and response.get("Location") != login, _answer(response)
    elif row.api:
        assert response.status_code == 401, _answer(response)
    else:
        path = reverse(name, kwargs=row.fill(ANY_TARGETS))
        assert response.status_code == 302, _answer(response)
        assert response["Location"] == redirect_to_login(path, settings.LOGIN_URL)["Location"], _answer(response)


def test_the_staff_site_sends_anonymous_visitors_to_its_own_login(client):
    response = client.get("/admin/sites/site/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=")


def test_anonymous_git_gets_401(client):
    response = client.get("/git/shop.git/info/refs", {"service": "git-upload-pack"})
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")


# --- members of the organization and of another one ---------------------------------------------

@pytest.mark.parametrize("name, method", CASES, ids=_ids(CASES))
def test_each_role_gets_what_the_matrix_says(people, name, method):
    """Each role in a savepoint of its own, so what one role's request changed is gone for the next."""
    need = TABLE[name].methods[method]
    wrong = []
    for role in ROLES:
        with transaction.atomic():
            targets = targets_for(people["org"], people["users"][role])
            response = _call(name, method, targets, people, role)
            transaction.set_rollback(True)
        allowed = not isinstance(need, Action) or role_may(role, need)
        if need == PUBLIC:  # no role involved: links from e-mails (bad tokens here) get a clear page
            if response.status_code >= 500:
                wrong.append(f"{role} got {_answer(response)}")
        elif allowed and _refused(response):
            wrong.append(f"{role} may {need} but got {_answer(response)}")
        elif not allowed and response.status_code != 403:
            wrong.append(f"{role} may not {need.value} but got {_answer(response)}")
    assert wrong == []


@pytest.mark.parametrize("name, method", [c for c in CASES if TABLE[c[0]].bears_object],
                         ids=_ids([c for c in CASES if TABLE[c[0]].bears_object]))
def test_another_organizations_member_gets_404(people, name, method):
    """The outsider (globex's owner) asks for acme's objects, as acme's owner would name them."""
    targets = targets_for(people["org"], people["users"]["owner"])
    response = _call(name, method, targets, people, "outsider")
    assert response.status_code == 404, _answer(response)


@pytest.mark.parametrize("name, method", UNDECLARED, ids=_ids(UNDECLARED))
def test_methods_the_table_does_not_name_are_refused(people, name, method):
    """A page that takes a GET for a POST would let a link (or an image tag) act for the user."""
    targets = targets_for(people["org"], people["users"]["owner"])
    response = _call(name, method, targets, people, "owner")
    assert response.status_code == 405, _answer(response)


def test_the_extra_member_is_a_viewer_of_acme(people):
    """The team URLs change this member: they must name a membership of acme that is not the asker's."""
    targets = targets_for(people["org"], people["users"]["owner"])
    membership = Membership.objects.get(pk=targets.membership)
    assert membership.organization == people["org"] and membership.user.email == "extra@example.com"
