"""How a delivery is signed, and how a receiver checks it (docs/webhooks.md quotes `verify`).

``CloudVPN-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``. The time is
signed with the body, so a captured request cannot be replayed after ``tolerance`` seconds. This
module uses the standard library only: a receiver may copy it as it is.
"""

import hashlib
import hmac
import secrets
import time

HEADER = "CloudVPN-Signature"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header's value for this body, now (or at ``timestamp``)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(secret: str, header: str, body: bytes | str, tolerance: int = 300, now: float | None = None) -> bool:
    """True when ``header`` (the CloudVPN-Signature value) signs ``body`` (the raw request body, as
    received, before any JSON parsing) with ``secret``, within ``tolerance`` seconds of ``now``."""
    if isinstance(body, str):
        body = body.encode()
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
