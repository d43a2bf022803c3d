"""Encryption of IES tokens at rest.

A key ring (`TOKEN_ENCRYPTION_KEYS`, newest first) lets an operator rotate keys: new values are
always written with the newest key, older keys still decrypt, and `manage.py rotate_token_keys`
re-encrypts everything with the newest one.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenDecryptionError(Exception):
    """A stored token cannot be decrypted with any key of the ring (key removed too early)."""


def _fallback_key() -> bytes:
    # Only when no key ring is configured (local runs): stable for a given SECRET_KEY.
    digest = hashlib.sha256(b"cloudvpn-portal-token-key:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def _ring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def key_ring() -> MultiFernet:
    keys = tuple(settings.TOKEN_ENCRYPTION_KEYS) or (_fallback_key().decode(),)
    return _ring(keys)


def encrypt(plaintext: str) -> str:
    return key_ring().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return key_ring().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError("stored secret cannot be decrypted with the configured keys") from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return key_ring().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError("stored secret cannot be decrypted with the configured keys") from exc


def mask(secret: str) -> str:
    """What a person may see of a secret: its last four characters."""
    if not secret:
        return ""
    return "…" + secret[-4:]
