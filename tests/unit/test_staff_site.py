"""The staff site's door: the portal's login with its second step, and only for staff with
two-factor (the roles inside are tests/unit/test_staff_roles.py)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import totp
from accounts.models import Profile
from core.encryption import decrypt
from tests.staff_users import PASSWORD, superuser

pytestmark = pytest.mark.django_db


def _code(user) -> str:
    return totp.code_at(decrypt(Profile.objects.get(user=user).totp_secret), totp.current_step())


def test_it_logs_staff_in_with_the_password_then_the_code_and_opens_the_dashboard():
    staff = superuser("boss")
    client = Client()

    sent = client.get("/admin/", follow=True)
    assert [url for url, _ in sent.redirect_chain] == ["/admin/login/?next=/admin/", "/login/?next=%2Fadmin%2F"]
    first = client.post("/login/", {"email": "boss@hosting.test", "password": PASSWORD, "next": "/admin/"})
    assert first["Location"] == "/login/two-factor/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")  # half signed in is not in

    second = client.post("/login/two-factor/", {"code": _code(staff)})

    assert second["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and "Dashboard" in page.content.decode()


def test_it_never_sends_a_staff_login_to_another_site():
    client = Client()
    client.force_login(superuser("boss"))

    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = client.get("/admin/login/", {"next": hostile})
        assert answer.status_code == 302 and answer["Location"] == "/admin/", hostile


def test_it_refuses_a_password_only_session_of_a_staff_user_who_has_not_set_up_two_factor():
    staff = get_user_model().objects.create_superuser("fresh", "", PASSWORD)
    client = Client()
    client.post("/login/", {"email": "fresh", "password": PASSWORD})

    answer = client.get("/admin/sites/site/", follow=True)

    assert answer.redirect_chain[-1][0] == "/account/two-factor/"
    assert "Staff must use two-factor" in answer.content.decode()
    assert client.get("/admin/accounts/organization/").status_code == 302
    assert staff.is_superuser  # the role is intact: only the second factor is missing
