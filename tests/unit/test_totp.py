"""TOTP against RFC 6238's test vectors (Appendix B) and the secrets authenticator apps read."""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from accounts import totp

SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"
VECTORS = [  # time, SHA1, SHA256, SHA512 (8 digits)
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("unix_time,sha1,sha256,sha512", VECTORS)
def test_it_gives_rfc_6238_codes(unix_time, sha1, sha256, sha512):
    step = totp.step_at(unix_time)
    assert totp.hotp(SEED_SHA1, step, digits=8) == sha1
    assert totp.hotp(SEED_SHA256, step, digits=8, digest=hashlib.sha256) == sha256
    assert totp.hotp(SEED_SHA512, step, digits=8, digest=hashlib.sha512) == sha512


def test_it_reads_a_base32_secret_as_apps_do():
    secret = base64.b32encode(SEED_SHA1).decode()
    assert totp.code_at(secret, totp.step_at(59)) == "287082"  # the last 6 of the 8-digit vector
    assert totp.code_at(secret.lower(), totp.step_at(59)) == "287082"


def test_it_matches_a_code_one_step_either_side_only():
    secret = base64.b32encode(SEED_SHA1).decode()
    now = totp.step_at(1111111109)
    assert totp.matching_step(secret, totp.code_at(secret, now - 1), now) == now - 1
    assert totp.matching_step(secret, totp.code_at(secret, now), now) == now
    assert totp.matching_step(secret, totp.code_at(secret, now + 1), now) == now + 1
    assert totp.matching_step(secret, totp.code_at(secret, now + 2), now) is None
    assert totp.matching_step(secret, totp.code_at(secret, now - 2), now) is None


def test_it_makes_random_secrets_of_160_bits_with_a_provisioning_uri():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second and len(first) == 32
    uri = urlparse(totp.provisioning_uri(first, "a@example.com", "Hosting"))
    assert (uri.scheme, uri.netloc, unquote(uri.path)) == ("otpauth", "totp", "/Hosting:a@example.com")
    assert parse_qs(uri.query)["secret"] == [first]
