"""List filters that take their value from the query string and list nothing else: a filter by
organization or user listing every one would be a page of 10,000 links and a query per page
load. Links from the change pages (`?organization__id__exact=7`) choose the value; the sidebar
shows it with "All" to clear it."""
from __future__ import annotations

from typing import Callable

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.models import Organization


def value_filter(title: str, parameter: str, lookup: str, label_of: Callable[[str], str] = str,
                 numeric: bool = True) -> type[admin.SimpleListFilter]:
    """A list filter on `lookup` = the query string's `parameter`; `label_of(value)` names it."""

    class ValueFilter(admin.SimpleListFilter):
        parameter_name = parameter

        def lookups(self, request, model_admin):
            value = self.value()
            if not value:
                return ()  # no output: Django leaves the filter out of the sidebar
            # A filter without output is skipped, its parameter ignored: a bad value must still
            # reach `queryset`, and be refused there, rather than list everything.
            return [(value, label_of(value) if not numeric or value.isdigit() else "invalid")]

        def queryset(self, request, queryset: QuerySet) -> QuerySet:
            value = self.value()
            if not value:
                return queryset
            if numeric and not value.isdigit():
                raise IncorrectLookupParameters(f"{parameter} takes a number.")  # the admin shows its "?e=1" page
            return queryset.filter(**{lookup: value})

    ValueFilter.title = title
    ValueFilter.__name__ = f"{parameter.split('__')[0].title()}Filter"
    return ValueFilter


def organization_label(pk: str) -> str:
    return Organization.objects.filter(pk=pk).values_list("slug", flat=True).first() or f"#{pk} (gone)"


def user_label(pk: str) -> str:
    row = get_user_model().objects.filter(pk=pk).values_list("email", "username").first()
    return (row[0] or row[1]) if row else f"#{pk} (gone)"
