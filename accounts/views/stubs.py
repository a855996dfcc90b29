"""Account pages still being built: stubs keep the URLs resolving."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def placeholder(heading: str, signed_in: bool = True):
    def view(request, *args, **kwargs):
        return render(request, "portal/placeholder.html", {"heading": heading})

    return login_required(view) if signed_in else view
