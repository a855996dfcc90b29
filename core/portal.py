"""What every portal view shares: running a service with the customer's errors shown as messages.

Services raise Django's ValidationError (bad input, a quota), PermissionDenied (the role matrix,
suspension) and our HostingError family; a portal form shows the first as a message and lets the
other two reach Django's 403 page or core.unavailable.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect

from core.errors import HostingError, QueueUnavailable

_FAILED = object()


def attempt(request, service, *args, **kwargs):
    """Call `service`; on a customer's error add it as an error message and return `FAILED`."""
    try:
        return service(*args, **kwargs)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
    except HostingError as exc:
        messages.error(request, str(exc))
    return _FAILED


def failed(result) -> bool:
    return result is _FAILED


def back(request, fallback: str, *args):
    """Redirect to where an htmx or plain form came from (a page of ours), else to `fallback`."""
    target = request.headers.get("HX-Current-URL") or request.META.get("HTTP_REFERER", "")
    if target.startswith(request.build_absolute_uri("/")):
        return _redirect(request, target)
    return _redirect(request, redirect(fallback, *args).url)


def _redirect(request, url: str):
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
