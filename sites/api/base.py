"""What every API view shares: the member scope (`SiteView`), errors answered as DRF does (shaped as
problem details by core/problems.py), query parameters, the 202 answer."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied, ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.scope import MemberAPIView
from core.errors import HostingError, QueueUnavailable
from sites.api.serializers import DeploymentSerializer
from sites.models import Deployment
from sites.tenancy import SiteMember


class SiteView(MemberAPIView):
    # A view of the API's sites: `self.member.site(name, action)` is how it reaches one. (A comment,
    # not a docstring: drf-spectacular would show a docstring on every operation.)

    member_class = SiteMember
    member: SiteMember


class QueueDown(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class Unavailable(APIException):
    """Something the answer needs does not answer now (a host's agent, the log relay)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class TooMany(APIException):
    """A cap of the organization's (open streams) is reached; not the request throttle."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS


def django_errors(fn):
    """Our services raise Django's exceptions; the API answers them as DRF does."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DjangoValidationError as exc:
            # Field errors keep their field (core/problems.py's field map); the rest name none.
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc) or None) from None
        except QueueUnavailable as exc:
            raise QueueDown(str(exc)) from None
        except HostingError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def int_param(request, name: str, default: int, high: int) -> int:
    """A whole-number query parameter, kept between 1 and `high`."""
    try:
        return max(1, min(int(request.query_params.get(name, default)), high))
    except ValueError:
        raise ValidationError({name: ["A whole number, please."]}) from None


def accepted(deployment: Deployment | None) -> Response:
    if deployment is None:
        return Response({"deployment": None}, status=status.HTTP_200_OK)
    return Response(DeploymentSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)
