"""Every API error in one shape: RFC 9457 problem details, never an HTML page.

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "name: Use lowercase letters, digits and hyphens.",
     "errors": {"name": ["Use lowercase letters, digits and hyphens."]}}

`detail` is one sentence a person can read as it is (every message, field-named); `errors` is the
field map a program reads, present on validation errors only ("non_field_errors" holds the messages
that name no field). `type` stays "about:blank", so `title` is the HTTP status phrase (RFC 9457
section 4.2.1). DRF's views reach `exception_handler` (REST_FRAMEWORK's EXCEPTION_HANDLER); what
never reaches a view (an unknown URL, an uncaught exception, a database that is down) goes through
`response`, which config/urls.py's handlers and core/unavailable.py use for API paths.
"""
from __future__ import annotations

from http import HTTPStatus

from django.http import JsonResponse
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

CONTENT_TYPE = "application/problem+json"
NON_FIELD = "non_field_errors"


def body(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> dict:
    problem = {"type": "about:blank", "title": _title(status), "status": status, "detail": detail}
    if errors is not None:
        problem["errors"] = errors
    return problem


def response(status: int, detail: str, **headers: str) -> JsonResponse:
    """A problem for a plain Django view or handler (no DRF negotiation involved)."""
    answer = JsonResponse(body(status, detail), status=status, content_type=CONTENT_TYPE)
    for name, value in headers.items():
        answer[name.replace("_", "-")] = value
    return answer


def exception_handler(exc, context) -> Response | None:
    """DRF's own handling (status, headers such as Retry-After and WWW-Authenticate), reshaped."""
    answer = drf_exception_handler(exc, context)
    if answer is None:
        return None  # not an API exception: Django's handler500 answers (a problem too)
    request = context.get("request")
    if request is not None:  # JSON whatever the view renders otherwise (the schema's YAML, a text stream)
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), CONTENT_TYPE
    if isinstance(exc, ValidationError):
        errors = field_map(answer.data)
        answer.data = body(answer.status_code, _sentence(errors), errors)
    else:
        answer.data = body(answer.status_code, _detail_text(answer.data, answer.status_code))
    answer.content_type = CONTENT_TYPE
    return answer


def field_map(data) -> dict[str, list[str]]:
    """DRF's error data (a dict of fields, a list, or one string; nested for nested serializers)
    as {field: [messages]}; a nested field is named by its path, e.g. "env.KEY"."""
    flat: dict[str, list[str]] = {}
    _flatten(data, "", flat)
    return flat


def _flatten(data, prefix: str, into: dict[str, list[str]]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            name = NON_FIELD if key in (NON_FIELD, "detail") and not prefix else (f"{prefix}.{key}" if prefix else str(key))
            _flatten(value, name, into)
    elif isinstance(data, (list, tuple)):
        for item in data:
            _flatten(item, prefix, into)
    elif data is not None:
        into.setdefault(prefix or NON_FIELD, []).append(str(data))


def _sentence(errors: dict[str, list[str]]) -> str:
    parts = [message if field == NON_FIELD else f"{field}: {message}"
             for field, messages in errors.items() for message in messages]
    return " ".join(parts) or "The request is not valid."


def _detail_text(data, status: int) -> str:
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])
    if isinstance(data, (list, tuple)) and data:
        return " ".join(str(item) for item in data)
    if isinstance(data, str) and data:
        return data
    return _title(status)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
