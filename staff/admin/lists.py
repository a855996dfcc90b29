"""List pages of big tables (deployments, releases, audit events: a hundred thousand rows and more)."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

# How many of the latest rows a filter's choices are read from, rather than a DISTINCT over the table.
RECENT_ROWS = 10_000


class LeanChangeList(ChangeList):
    """The list's query leaves out the model admin's `list_defer` columns: a deployment's whole build
    log, say, is megabytes nobody reads in a list of a hundred."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.defer(*self.model_admin.list_defer) if self.model_admin.list_defer else queryset


class BigTableAdmin(admin.ModelAdmin):
    """A model admin whose list stays fast at any size: newest first by primary key (an index; an
    unindexed sort reads the whole table), one count per page instead of two, related rows joined
    one level deep (Django's default follows every non-null foreign key, all the way), and the
    heavy columns left out."""

    ordering = ("-pk",)
    show_full_result_count = False
    list_defer: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return LeanChangeList


class RecentValuesFilter(admin.SimpleListFilter):
    """A filter on `field` offering the values of the latest RECENT_ROWS rows: a DISTINCT over every
    row of a big table reads all of it on each page view. An older value still filters by URL."""

    field = ""

    def lookups(self, request, model_admin):
        recent = model_admin.model._default_manager.order_by("-pk").values_list(self.field, flat=True)[:RECENT_ROWS]
        values = set(recent) | ({self.value()} if self.value() else set())
        return [(value, value) for value in sorted(values) if value]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset
