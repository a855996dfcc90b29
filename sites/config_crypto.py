"""Encryption of config at rest (env var values, release snapshots) with the platform's Fernet key."""
from __future__ import annotations

import json

from core.encryption import decrypt, encrypt

__all__ = ["config_of", "decrypt", "decrypt_config", "encrypt", "encrypt_config"]


def encrypt_config(config: dict[str, str]) -> str:
    return encrypt(json.dumps(config, sort_keys=True))


def decrypt_config(token: str) -> dict[str, str]:
    return json.loads(decrypt(token))


def config_of(site) -> dict[str, str]:
    """The site's env vars now, decrypted: what a build and the next release get."""
    return {var.key: decrypt(var.encrypted_value) for var in site.env_vars.all()}
