"""The first staff login, created once so a fresh install can be administered."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model


@dataclass(frozen=True)
class StaffLogin:
    username: str
    password: str | None  # only known when it was just created
    credentials_file: Path


def ensure_first_staff_user(credentials_file: Path, username: str = "admin") -> StaffLogin:
    """Create a superuser with a random password when the platform has none.

    The password is written once to `credentials_file` (mode 0600) and returned, so the caller
    can print it; later calls create nothing and return no password.
    """
    User = get_user_model()
    existing = User.objects.filter(is_superuser=True).order_by("id").first()
    if existing is not None:
        return StaffLogin(existing.get_username(), None, credentials_file)
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(username=username, email="", password=password)
    credentials_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"username: {username}\npassword: {password}\n")
    return StaffLogin(username, password, credentials_file)
