"""A customer's people and tokens in the staff site: memberships (add, change a role, remove; never
the last owner) and API tokens (revoke a leaked one). Support staff may do all of it (staff/roles.py);
every change goes through accounts' services, which write the customer's audit log."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts import team
from accounts.models import ApiToken, Membership, Organization, Role
from accounts.services import revoke_token_as_staff
from staff.admin.links import changelist_link
from staff.admin.filters import organization_label, user_label, value_filter
from staff.admin.readonly import ReadOnlyAdmin

OrganizationFilter = value_filter("organization", "organization__id__exact", "organization__id", organization_label)
UserFilter = value_filter("user", "user__id__exact", "user__id", user_label)
# Memberships shown on an organization's page; the rest are on the filtered membership list.
INLINE_MEMBERS = 50


class MemberIdWidget(ForeignKeyRawIdWidget):
    """The user's id with their name beside it, named from the membership's row already read: the
    stock widget reads each user again, a query per member on the organization's page."""

    member = None  # the row's user, set by MembershipFormSet

    def label_and_url_for_value(self, value):
        if self.member is None or str(self.member.pk) != str(value):
            return super().label_and_url_for_value(value)
        try:
            url = reverse(f"{self.admin_site.name}:auth_user_change", args=[self.member.pk])
        except NoReverseMatch:
            url = ""
        return str(self.member), url


class MembershipFormSet(BaseInlineFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        widget = form.fields["user"].widget
        if isinstance(widget, MemberIdWidget) and form.instance.pk:
            widget.member = form.instance.user
        return form

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        shown, owners_after = [], 0
        for form in self.forms:
            if not form.cleaned_data:
                continue  # an empty extra row
            if form.instance.pk:
                shown.append(form.instance.pk)
                if "user" in form.changed_data:
                    raise ValidationError("To replace a member, remove them and add the other user in a new row.")
            if form not in self.deleted_forms and form.cleaned_data.get("role") == Role.OWNER:
                owners_after += 1
        owners = Membership.objects.filter(organization=self.instance, role=Role.OWNER)
        if owners.exists() and owners_after + owners.exclude(pk__in=shown).count() == 0:
            raise ValidationError("The organization must keep an owner: make another member owner first.")


def save_membership_formset(request, organization: Organization, formset: MembershipFormSet) -> None:
    """Apply the inline's rows through accounts.team (audited), instead of the formset's own save."""
    changes = [(form.cleaned_data["user"], form.cleaned_data["role"]) for form in formset.forms
               if form.cleaned_data and form not in formset.deleted_forms and form.has_changed()]
    changes.sort(key=lambda change: change[1] != Role.OWNER)  # new owners first: an owner always remains
    for user, role in changes:
        team.staff_set_member(organization, user, role, request.user)
    for form in formset.deleted_forms:
        if form.instance.pk:
            team.staff_remove_member(form.instance, request.user)
    # The admin's history message reads these (a formset's save sets them).
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["widget"] = MemberIdWidget(db_field.remote_field, self.admin_site)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def bounded_members(organization: Organization | None) -> QuerySet:
    """The first INLINE_MEMBERS members (owners first) of `organization`, for its page's inline."""
    if organization is None:
        return Membership.objects.none()
    first = (Membership.objects.filter(organization=organization).order_by("role", "created_at")
             .values_list("pk", flat=True)[:INLINE_MEMBERS])
    return Membership.objects.filter(pk__in=list(first)).select_related("user", "organization")


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("organization", "user", "role")

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and cleaned.get("user") is not None:
            team.ensure_staff_may_add(cleaned["user"], self.staff)
        if self.instance.pk and cleaned.get("role") and cleaned["role"] != Role.OWNER:
            team.check_owner_remains(Membership.objects.get(pk=self.instance.pk))
        return cleaned


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ("user", "organization", "role", "created_at", "their_actions")
    list_filter = ("role", OrganizationFilter, UserFilter)
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "organization__slug")
    raw_id_fields = ("organization", "user")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return ("organization", "user", "created_at") if obj is not None else ("created_at",)

    @admin.display(description="audit log")
    def their_actions(self, obj) -> str:
        return changelist_link("accounts.auditevent", "their actions here", organization__id__exact=obj.organization_id,
                               actor__id__exact=obj.user_id)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.staff = request.user  # who adds: the form's clean asks whether they may add staff
        return form

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time: each removal checks the last owner
        return actions

    def save_model(self, request, obj, form, change) -> None:
        saved = team.staff_set_member(obj.organization, obj.user, obj.role, request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        team.staff_remove_member(obj, request.user)

    def delete_view(self, request, object_id, extra_context=None):
        membership = self.get_object(request, object_id)
        if membership is not None and request.method == "POST" and self.has_delete_permission(request, membership):
            try:
                team.check_owner_remains(membership, "be removed")
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return redirect(reverse("admin:accounts_membership_change", args=[membership.pk]))
        return super().delete_view(request, object_id, extra_context)


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Read-only but for the revoke action (never deleted: the row says when it was revoked and last
    used); the digest is never shown (it is as good as a password hash of the token)."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (TokenStateFilter, value_filter("organization", "organization", "user__memberships__organization__id",
                                                  organization_label), UserFilter)
    list_select_related = ("user",)
    search_fields = ("prefix", "user__email")
    fields = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]
    show_full_result_count = False

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.revoke_apitoken")

    @admin.action(description="Revoke (a leaked token): it stops working at once, API and git", permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        revoked = sum(revoke_token_as_staff(token, request.user) for token in queryset.select_related("user"))
        self.message_user(request, f"Revoked {revoked} token(s); already revoked ones are unchanged.")
