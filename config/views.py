from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import platform_health
from hosting.health import check_hosts


@never_cache
@require_GET
def healthz(request):
    """200 when the database, Redis and every host are healthy (and one host exists), else 503;
    the parts and their errors are shown to staff only."""
    health = platform_health(check_hosts)
    return JsonResponse(health.as_dict(details=_is_staff(request)), status=200 if health.healthy else 503)


def _is_staff(request) -> bool:
    # The session and the user live in the database: while it is down, the caller is nobody.
    try:
        return request.user.is_staff
    except DatabaseError:
        return False
