"""Staff users for tests: a superuser and a support engineer, both with two-factor on (the staff
site refuses staff without it), logged into a Django test client."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts import totp
from core.encryption import encrypt
from accounts.models import Profile
from staff import roles

PASSWORD = "staff-password-1"


def with_two_factor(user):
    """Turn two-factor on for `user`, as if they had enrolled an authenticator app."""
    Profile.objects.update_or_create(user=user, defaults={"totp_secret": encrypt(totp.new_secret()),
                                                          "totp_enabled_at": timezone.now()})
    return user


def superuser(username: str = "boss"):
    return with_two_factor(get_user_model().objects.create_superuser(username, f"{username}@hosting.test", PASSWORD))


def support_engineer(username: str = "helper"):
    user = get_user_model().objects.create_user(username, f"{username}@hosting.test", PASSWORD)
    roles.make_support_staff(user)
    return with_two_factor(user)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
