"""Links between staff pages: to a list filtered by a value (the audit log of an organization, the
memberships of a user), which staff/admin/filters.py's filters read back."""
from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode


def changelist_link(model_name: str, text: str, **query) -> str:
    """A link to the staff list of `model_name` (app.model) filtered by `query`."""
    app_label, name = model_name.split(".")
    return format_html('<a href="{}?{}">{}</a>', reverse(f"admin:{app_label}_{name}_changelist"), urlencode(query), text)
