"""Every API error in one shape (RFC 9457 problem details, core/problems.py), walked over every
endpoint of tests/portal_urls.py's table: no token, another organization's object, a method the
endpoint does not answer, a body that is not JSON; and the errors that never reach a view (an
unknown URL, an uncaught exception), validation errors with their field map, throttling."""
from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from core import problems
from sites.api import sites as sites_api
from tests.portal_urls import PUBLIC, TABLE, targets_for
from tests.unit.test_authorization_sweep import ANY_TARGETS, UNDECLARED, _answer, _call, _ids
from tests.unit.test_authorization_sweep import people  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

API_CASES = [(name, method) for name, row in TABLE.items() if row.api for method in row.methods]
SIGNED = [case for case in API_CASES if TABLE[case[0]].methods[case[1]] != PUBLIC]
OBJECTS = [case for case in API_CASES if TABLE[case[0]].bears_object]
WRONG_METHODS = [case for case in UNDECLARED if TABLE[case[0]].api]
WRITES = [case for case in API_CASES if case[1] in ("POST", "PUT", "PATCH")]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, _answer(response)
    assert response["Content-Type"] == problems.CONTENT_TYPE, _answer(response)
    problem = response.json()
    assert problem["type"] == "about:blank" and problem["status"] == status, problem
    assert problem["title"] == HTTPStatus(status).phrase, problem
    assert isinstance(problem["detail"], str) and problem["detail"].strip(), problem
    assert set(problem) <= {"type", "title", "status", "detail", "errors"}, problem
    for field, messages in problem.get("errors", {}).items():
        assert isinstance(field, str) and messages and all(isinstance(m, str) and m for m in messages), problem
    return problem


@pytest.mark.parametrize("name, method", SIGNED, ids=_ids(SIGNED))
def test_no_token_is_a_401_problem(name, method):
    response = _call(name, method, ANY_TARGETS)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name, method", OBJECTS, ids=_ids(OBJECTS))
def test_another_organizations_object_is_a_404_problem(people, name, method):  # noqa: F811
    targets = targets_for(people["org"], people["users"]["owner"])
    assert_problem(_call(name, method, targets, people, "outsider"), 404)


@pytest.mark.parametrize("name, method", WRONG_METHODS, ids=_ids(WRONG_METHODS))
def test_a_method_the_endpoint_does_not_answer_is_a_405_problem(people, name, method):  # noqa: F811
    targets = targets_for(people["org"], people["users"]["owner"])
    assert_problem(_call(name, method, targets, people, "owner"), 405)


@pytest.mark.parametrize("name, method", WRITES, ids=_ids(WRITES))
def test_a_body_that_is_not_json_is_refused_as_a_problem_or_not_read(people, name, method):  # noqa: F811
    """Endpoints that read a body say 400 with the parser's reason; the others (restart, stop)
    never read it. Whatever happens, no 500 and never an HTML page."""
    row = TABLE[name]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens']['owner']}")
    with transaction.atomic():
        url = reverse(name, kwargs=row.fill(targets_for(people["org"], people["users"]["owner"])))
        response = getattr(client, method.lower())(url, data=b'{"name": ', content_type="application/json")
        transaction.set_rollback(True)
    assert response.status_code < 500, _answer(response)
    if response.status_code >= 400:
        problem = assert_problem(response, response.status_code)
        if response.status_code == 400 and name in BODY_READERS:
            assert "JSON parse error" in problem["detail"], problem


# Endpoints whose input is a JSON object: a truncated one is a parse error, said as such.
BODY_READERS = {name for name, row in TABLE.items() if row.api and row.bodies}


def test_a_validation_error_names_its_field(people):  # noqa: F811
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens']['owner']}")
    response = client.post("/api/v1/sites/", {"name": "Not A Name!", "organization": people["org"].slug},
                           format="json")
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == ["name"], problem
    assert problem["detail"].startswith("name: "), problem


def test_a_service_refusal_that_names_no_field_is_a_non_field_error(people):  # noqa: F811
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens']['owner']}")
    response = client.post(f"/api/v1/sites/{people['site'].name}/rollback/", {"release": 999}, format="json")
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == [problems.NON_FIELD] and problem["detail"] == problem["errors"][
        problems.NON_FIELD][0], problem


def test_a_change_to_a_field_that_cannot_change_is_refused_not_ignored(people):  # noqa: F811
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens']['owner']}")
    site = people["site"]
    response = client.patch(f"/api/v1/sites/{site.name}/", {"name": "renamed", "runtime": "php", "hsts": True,
                                                              "colour": "red"}, format="json")
    problem = assert_problem(response, 400)
    assert sorted(problem["errors"]) == ["colour", "name", "runtime"], problem
    assert "cannot change" in problem["errors"]["name"][0]
    site.refresh_from_db()
    assert (site.name, site.hsts) == (people["site"].name, False)  # nothing of the request was applied


def test_an_unknown_api_url_is_a_404_problem_not_the_portals_page(people, client):  # noqa: F811
    problem = assert_problem(client.get("/api/v1/no-such-thing/"), 404)
    assert "/api/v1/no-such-thing/" in problem["detail"] and "/api/v1/schema/" in problem["detail"]
    assert "text/html" in client.get("/no-such-page/")["Content-Type"]  # the portal keeps its page


def test_an_uncaught_exception_is_a_500_problem(people, monkeypatch):  # noqa: F811
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(sites_api.SiteList, "get", broken)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens']['owner']}")
    problem = assert_problem(client.get("/api/v1/sites/"), 500)
    assert "a bug" not in problem["detail"]


def test_throttling_is_a_429_problem_with_retry_after(people, settings):  # noqa: F811
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_PER_TOKEN = "2/min"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {people['tokens']['owner']}")
    responses = [client.get("/api/v1/sites/") for _ in range(3)]
    assert [response.status_code for response in responses[:2]] == [200, 200]
    assert_problem(responses[2], 429)
    assert int(responses[2]["Retry-After"]) > 0
