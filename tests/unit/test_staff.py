from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.staff import ensure_first_staff_user

pytestmark = pytest.mark.django_db


def test_it_creates_the_first_staff_user_once(tmp_path):
    path = tmp_path / "secrets" / "staff-login.txt"
    first = ensure_first_staff_user(path)
    assert first.password and first.password in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password(first.password)

    second = ensure_first_staff_user(path)
    assert second.password is None and second.username == "admin"
    assert get_user_model().objects.count() == 1
