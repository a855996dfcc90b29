"""Reading the platform's configuration from the environment.

Settings come from environment variables with safe defaults. Secrets that are not given are
generated once and kept in files readable only by their owner, so a restart keeps sessions and
encrypted values valid.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from pathlib import Path
from typing import Callable

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if low is not None and value < low:
        raise ImproperlyConfigured(f"{name} must be at least {low}" + (f" and at most {high}" if high is not None else "")
                                   + f", not {value}.")
    if high is not None and value > high:
        raise ImproperlyConfigured(f"{name} must be at most {high}, not {value}.")
    return value


def env_float(name: str, default: float, above: float | None = None) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if above is not None and value <= above:
        raise ImproperlyConfigured(f"{name} must be more than {above}, not {value}.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_addresses(name: str) -> str:
    """A comma-separated list of IP addresses, each checked, as given ("" when unset)."""
    for item in env_list(name, []):
        try:
            ipaddress.ip_address(item)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address.") from None
    return ",".join(env_list(name, []))


def secret_from_env_or_file(name: str, path: Path, generate: Callable[[], str]) -> str:
    """The secret in the environment variable `name`, else the one kept in `path`.

    A missing file is created with a fresh secret, mode 0600, owned by the owner of its directory
    (the platform user, when root starts first), so that whichever platform process starts first
    makes it and every other can read it. It appears whole or not at all (a link of a finished
    file), so two processes starting at once agree on one secret and never read half of it.
    """
    given = os.environ.get(name, "").strip()
    if given:
        return given
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            if os.geteuid() == 0:
                directory = path.parent.stat()
                os.fchown(f.fileno(), directory.st_uid, directory.st_gid)
            f.write(generate() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: its secret wins
    finally:
        os.unlink(temporary)
    return path.read_text().strip()


def generate_secret_key() -> str:
    return secrets.token_urlsafe(50)


def generate_fernet_key() -> str:
    return Fernet.generate_key().decode()
