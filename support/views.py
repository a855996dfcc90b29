"""The support desk's customer side: its place in the navigation until tickets exist."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET


@login_required
@require_GET
def home(request):
    return render(request, "support/home.html", {"nav": "support"})
