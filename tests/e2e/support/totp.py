"""RFC 6238 time-based one-time passwords (30 s steps, 6 digits, HMAC-SHA-1), as an
authenticator app computes them from the secret the portal shows."""
from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def totp(secret_base32: str, at: float | None = None, digits: int = 6, step: int = 30) -> str:
    secret = secret_base32.replace(" ", "").upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F  # RFC 4226's dynamic truncation
    code = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)
