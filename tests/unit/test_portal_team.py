"""The team page: invitations by e-mail bound to the invited address, roles per the role table,
the last owner, other organizations' ids, and a query count that does not grow with the team."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import invitations
from accounts.models import AuditEvent, Invitation, Membership
from accounts.services import add_member, create_organization, get_or_create_user
from tests.unit.portal_clients import PASSWORD, queries_of, signed_in

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/invitations/[^\s/]+/")


@pytest.fixture
def acme():
    """acme: an owner, an admin, a developer and a viewer. globex's owner is the outsider."""
    org = create_organization("acme", "owner@example.com")
    for role in ("admin", "developer", "viewer"):
        add_member(org, f"{role}@example.com", role)
    create_organization("globex", "outsider@example.com")
    return org


def member(org, email: str) -> Membership:
    return Membership.objects.get(organization=org, user__email=email)


def invite(client: Client, email: str = "new@example.com", role: str = "developer"):
    return client.post(reverse("accounts:team"), {"email": email, "role": role})


def link_in(mail) -> str:
    return LINK.search(mail.body).group(0)


def test_it_mails_an_invitation_that_the_invited_address_accepts_with_a_new_account(acme, mailoutbox):
    response = invite(signed_in("owner@example.com"))
    assert response.status_code == 302
    assert [mail.to for mail in mailoutbox] == [["new@example.com"]]
    link = link_in(mailoutbox[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert token not in invitation.digest and len(invitation.digest) == 64  # only the hash is kept

    stranger = Client()
    page = stranger.get(link)
    assert page.status_code == 200 and b'<label for="invitation-password">Password</label>' in page.content
    joined = stranger.post(link, {"password": PASSWORD})
    assert joined.status_code == 302
    assert member(acme, "new@example.com").role == "developer"
    assert stranger.get(reverse("accounts:team")).status_code == 200  # signed in as the new member
    assert get_or_create_user("new@example.com").check_password(PASSWORD)
    actions = set(AuditEvent.objects.filter(organization=acme).values_list("action", flat=True))
    assert {"team.invite", "team.accept"} <= actions


def test_only_the_invited_address_may_accept(acme, mailoutbox):
    invite(signed_in("owner@example.com"))
    link = link_in(mailoutbox[0])
    other = signed_in("someone-else@example.com")
    page = other.get(link)
    assert b"you are signed in as someone-else@example.com" in page.content
    assert other.post(link).status_code == 403
    assert not Membership.objects.filter(user__email="someone-else@example.com").exists()

    right = signed_in("new@example.com")  # an existing account with the invited address
    assert right.post(link).status_code == 302
    assert member(acme, "new@example.com").role == "developer"


def test_an_invitation_works_once(acme, mailoutbox):
    invite(signed_in("owner@example.com"))
    link = link_in(mailoutbox[0])
    assert Client().post(link, {"password": PASSWORD}).status_code == 302
    Membership.objects.filter(user__email="new@example.com").delete()

    again = signed_in("new@example.com")
    second = again.post(link)
    assert b"already used" in second.content
    assert not Membership.objects.filter(user__email="new@example.com").exists()
    assert again.get(link).status_code == 410


def test_an_expired_or_withdrawn_invitation_is_refused_with_a_clear_page(acme, mailoutbox):
    owner = signed_in("owner@example.com")
    invite(owner, "late@example.com")
    invite(owner, "withdrawn@example.com")
    late, withdrawn = link_in(mailoutbox[0]), link_in(mailoutbox[1])
    Invitation.objects.filter(email="late@example.com").update(expires_at=timezone.now() - timedelta(seconds=1))
    revoke = Invitation.objects.get(email="withdrawn@example.com")
    assert owner.post(reverse("accounts:invitation-revoke", args=[revoke.pk])).status_code == 302

    for link, words in ((late, b"Invitation expired"), (withdrawn, b"Invitation withdrawn")):
        page = Client().get(link)
        assert page.status_code == 410 and words in page.content
        Client().post(link, {"password": PASSWORD})
    assert Client().get("/invitations/not-a-token/").status_code == 404
    assert not Membership.objects.filter(user__email__in=["late@example.com", "withdrawn@example.com"]).exists()
    assert AuditEvent.objects.filter(action="team.invitation_revoke", target="withdrawn@example.com").exists()


def test_a_new_invitation_to_the_same_address_replaces_the_open_one(acme, mailoutbox):
    owner = signed_in("owner@example.com")
    invite(owner, role="viewer")
    invite(owner, role="developer")
    first, second = link_in(mailoutbox[0]), link_in(mailoutbox[1])
    assert b"Invitation withdrawn" in Client().get(first).content
    assert Client().post(second, {"password": PASSWORD}).status_code == 302
    assert member(acme, "new@example.com").role == "developer"


def test_an_organization_cannot_mail_without_limit(acme, mailoutbox, monkeypatch):
    monkeypatch.setattr(invitations, "MAX_OPEN_INVITATIONS", 2)
    owner = signed_in("owner@example.com")
    assert [invite(owner, f"n{i}@example.com").status_code for i in range(3)] == [302, 302, 400]
    assert len(mailoutbox) == 2


def test_an_invitation_cannot_set_the_password_of_an_existing_account(acme, mailoutbox):
    signed_in("new@example.com")  # has a password
    invite(signed_in("owner@example.com"))
    link = link_in(mailoutbox[0])
    assert b"Log in to accept" in Client().get(link).content
    Client().post(link, {"password": "another passphrase 99"})
    assert get_or_create_user("new@example.com").check_password(PASSWORD)
    assert not Membership.objects.filter(user__email="new@example.com").exists()


def test_a_bad_invitation_shows_why_and_changes_nothing(acme, mailoutbox):
    owner = signed_in("owner@example.com")
    for email, role, words in (("not-an-address", "developer", b"is not an e-mail address"),
                               ("viewer@example.com", "developer", b"already a member"),
                               ("new@example.com", "emperor", b"You may invite as")):
        response = invite(owner, email, role)
        assert response.status_code == 400 and words in response.content
    assert not Invitation.objects.exists() and not mailoutbox


def test_an_admin_cannot_invite_an_owner_nor_touch_owners(acme, mailoutbox):
    admin = signed_in("admin@example.com")
    assert invite(admin, role="owner").status_code == 400
    owner_id = member(acme, "owner@example.com").pk
    assert admin.post(reverse("accounts:member-role", args=[owner_id]), {"role": "viewer"}).status_code == 403
    assert admin.post(reverse("accounts:member-remove", args=[owner_id])).status_code == 403
    own_id = member(acme, "admin@example.com").pk
    assert admin.post(reverse("accounts:member-role", args=[own_id]), {"role": "owner"}).status_code == 403
    assert member(acme, "owner@example.com").role == "owner" and member(acme, "admin@example.com").role == "admin"
    assert not mailoutbox


def test_an_admin_changes_and_removes_members_below_owner(acme):
    admin = signed_in("admin@example.com")
    developer_id = member(acme, "developer@example.com").pk
    assert admin.post(reverse("accounts:member-role", args=[developer_id]), {"role": "viewer"}).status_code == 302
    assert member(acme, "developer@example.com").role == "viewer"
    assert admin.post(reverse("accounts:member-remove", args=[developer_id])).status_code == 302
    assert not Membership.objects.filter(pk=developer_id).exists()
    event = AuditEvent.objects.get(action="team.role")
    assert (event.target, event.actor_label, event.detail) == (
        "developer@example.com", "admin@example.com", {"before": "developer", "after": "viewer"})
    assert AuditEvent.objects.filter(action="team.remove", target="developer@example.com").exists()


def test_the_last_owner_cannot_leave_be_demoted_or_removed(acme):
    owner = signed_in("owner@example.com")
    owner_id = member(acme, "owner@example.com").pk
    demoted = owner.post(reverse("accounts:member-role", args=[owner_id]), {"role": "admin"}, follow=True)
    assert b"last owner" in demoted.content
    left = owner.post(reverse("accounts:team-leave"), follow=True)
    assert b"You are the organization&#x27;s last owner" in left.content
    removed = owner.post(reverse("accounts:member-remove", args=[owner_id]), follow=True)
    assert b"last owner" in removed.content
    assert member(acme, "owner@example.com").role == "owner"

    # With a second owner, the first may go; then the second is the last.
    admin_id = member(acme, "admin@example.com").pk
    assert owner.post(reverse("accounts:member-role", args=[admin_id]), {"role": "owner"}).status_code == 302
    assert owner.post(reverse("accounts:team-leave")).status_code == 302
    assert not Membership.objects.filter(pk=owner_id).exists()
    second = signed_in("admin@example.com")
    assert b"last owner" in second.post(reverse("accounts:member-role", args=[admin_id]), {"role": "viewer"},
                                        follow=True).content


def test_any_member_may_leave(acme):
    viewer = signed_in("viewer@example.com")
    assert viewer.post(reverse("accounts:team-leave")).status_code == 302
    assert not Membership.objects.filter(organization=acme, user__email="viewer@example.com").exists()
    assert AuditEvent.objects.filter(action="team.leave", target="viewer@example.com").exists()


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_developers_and_viewers_read_the_team_but_may_not_change_it(acme, mailoutbox, role):
    client = signed_in(f"{role}@example.com")
    page = client.get(reverse("accounts:team"))
    assert page.status_code == 200 and b"owner@example.com" in page.content and b"Send invitation" not in page.content
    admin_id = member(acme, "admin@example.com").pk
    invitation = Invitation.objects.create(organization=acme, email="x@example.com", role="viewer", digest="d" * 64,
                                           expires_at=timezone.now() + timedelta(days=1))
    for url, data in ((reverse("accounts:team"), {"email": "new@example.com", "role": "viewer"}),
                      (reverse("accounts:member-role", args=[admin_id]), {"role": "viewer"}),
                      (reverse("accounts:member-remove", args=[admin_id]), {}),
                      (reverse("accounts:invitation-revoke", args=[invitation.pk]), {})):
        assert client.post(url, data).status_code == 403, url
    assert member(acme, "admin@example.com").role == "admin"
    invitation.refresh_from_db()
    assert invitation.revoked_at is None and not mailoutbox


def test_another_organizations_members_and_invitations_are_not_found(acme):
    outsider = signed_in("outsider@example.com")  # owner of globex: may manage a team, not acme's
    invitation = Invitation.objects.create(organization=acme, email="x@example.com", role="viewer", digest="e" * 64,
                                           expires_at=timezone.now() + timedelta(days=1))
    developer_id = member(acme, "developer@example.com").pk
    assert outsider.post(reverse("accounts:member-role", args=[developer_id]), {"role": "viewer"}).status_code == 404
    assert outsider.post(reverse("accounts:member-remove", args=[developer_id])).status_code == 404
    assert outsider.post(reverse("accounts:invitation-revoke", args=[invitation.pk])).status_code == 404
    assert b"developer@example.com" not in outsider.get(reverse("accounts:team")).content
    assert member(acme, "developer@example.com").role == "developer"
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_the_team_page_needs_a_sign_in():
    response = Client().get(reverse("accounts:team"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_team_page_query_count_does_not_grow_with_the_team(acme):
    owner = signed_in("owner@example.com")

    def grow_to(n: int) -> None:
        for i in range(Membership.objects.filter(organization=acme).count(), n):
            add_member(acme, f"m{i}@example.com", "viewer")
            Invitation.objects.create(organization=acme, email=f"i{i}@example.com", role="viewer", digest=f"{i:064d}",
                                      invited_by=get_or_create_user("owner@example.com"),
                                      expires_at=timezone.now() + timedelta(days=1))

    grow_to(10)
    ten = queries_of(owner, reverse("accounts:team"))
    grow_to(30)
    assert queries_of(owner, reverse("accounts:team")) == ten
