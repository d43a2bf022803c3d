"""The token's shape: ``cvp_<prefix>_<secret>``. The prefix finds the row; the digest proves the rest.

A token is 32 random bytes, so one SHA-256 is enough to store it (no password stretching: there is
nothing to guess).
"""

import hashlib
import hmac
import secrets
import string

PREFIX = "cvp_"
_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_LENGTH = 8


def new_token() -> tuple[str, str]:
    """A new token and its lookup prefix."""
    prefix = PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_PREFIX_LENGTH))
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def prefix_of(token: str) -> str | None:
    """The lookup prefix of something that looks like a token, else None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    prefix, sep, secret = token.partition("_")[2].partition("_")
    if not sep or len(prefix) != _PREFIX_LENGTH or not secret:
        return None
    return PREFIX + prefix


def matches(token: str, digest: str) -> bool:
    return hmac.compare_digest(digest_of(token), digest)
