"""The organization admin's actions that ask first: suspend (why?) and change plan (to which?).
Each renders a confirmation page on the first POST and calls the service on the second, the same
service the operator commands call (`manage.py suspend`, `manage.py set_plan`)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.template.response import TemplateResponse

from accounts.models import Plan
from sites import services
from sites.models import Site
from sites.plans import WHEN_IT_APPLIES, change_plan, over_quota


# Organizations named on a confirmation page when "all N" are selected.
SHOWN = 50


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=500, strip=True, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Members read it when they are refused (the portal, the API, git).",
                             error_messages={"required": "Give a reason for the suspension."})


class PlanForm(forms.Form):
    plan = forms.ModelChoiceField(Plan.objects.all(), empty_label=None)


def _confirmation(model_admin: admin.ModelAdmin, request, queryset: QuerySet, form: forms.Form, action: str,
                  title: str, note: str = "") -> TemplateResponse:
    # "Select all N" posts select_across: the whole list is meant, so only its first rows are named
    # here (a page of 10,000 names helps nobody) and select_across is posted back instead of the ids.
    select_across = request.POST.get("select_across") == "1"
    shown = list(queryset.select_related("plan")[:SHOWN]) if select_across else list(queryset.select_related("plan"))
    context = {**model_admin.admin_site.each_context(request), "title": title, "form": form, "action": action,
               "organizations": shown, "more": queryset.count() - len(shown) if select_across else 0,
               "select_across": select_across, "note": note, "opts": model_admin.model._meta,
               "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
    return TemplateResponse(request, "admin/accounts/organization/confirm_action.html", context)


def _bound(form_class: type[forms.Form], request) -> forms.Form:
    # The first POST (from the list's action menu) has no "apply": show the form unbound.
    return form_class(request.POST) if "apply" in request.POST else form_class()


class OrganizationActions:
    """Mixed into OrganizationAdmin. Each action names the permission it needs, so Django refuses
    it on the server (not only in the menu) to staff without it."""

    actions = ["suspend", "unsuspend", "set_plan"]

    def has_suspend_permission(self, request) -> bool:
        return request.user.has_perm("accounts.suspend_organization")

    def has_set_plan_permission(self, request) -> bool:
        return request.user.has_perm("accounts.set_organization_plan")

    @admin.action(description="Suspend: their sites show the suspended page, their containers stop",
                  permissions=["suspend"])
    def suspend(self, request, queryset):
        form = _bound(SuspendForm, request)
        if not form.is_bound or not form.is_valid():
            return _confirmation(self, request, queryset, form, "suspend", "Suspend organizations")
        done = 0
        for org in queryset.filter(suspended=False):
            try:
                services.suspend_organization(org, form.cleaned_data["reason"])
            except ValidationError as exc:
                self.message_user(request, f"{org.slug}: {' '.join(exc.messages)}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, f"Suspended {done} organization(s) (already suspended ones are unchanged).",
                          messages.WARNING)
        return None

    @admin.action(description="Unsuspend: their sites that were running start again", permissions=["suspend"])
    def unsuspend(self, request, queryset):
        done = 0
        for org in queryset.filter(suspended=True):
            services.unsuspend_organization(org)
            done += 1
        self.message_user(request, f"Unsuspended {done} organization(s).")

    @admin.action(description="Change plan…", permissions=["set_plan"])
    def set_plan(self, request, queryset):
        form = _bound(PlanForm, request)
        if not form.is_bound or not form.is_valid():
            return _confirmation(self, request, queryset, form, "set_plan", "Change the plan of organizations",
                                 WHEN_IT_APPLIES)
        plan, moved, warnings = form.cleaned_data["plan"], 0, ""
        for org in queryset.select_related("plan"):
            moved += change_plan(org, plan, by=request.user)
            warnings += over_quota(org.slug, Site.objects.filter(organization=org).count(), plan)
        self.message_user(request, f"{queryset.count()} organization(s) are on {plan.label} ({moved} site(s) moved). "
                          f"{WHEN_IT_APPLIES}{warnings}", messages.WARNING if warnings else messages.SUCCESS)
        return None
