"""System checks of the portal's own settings (Django's cover the rest).

`manage.py check --deploy` warns when TOKEN_ENCRYPTION_KEYS is unset (the tokens would then be
encrypted with a key derived from SECRET_KEY, which ties them to it and does not allow rotation);
any check fails when a configured key is not a Fernet key, since no token could then be read.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


def _invalid_keys(keys: Iterable[str | bytes]) -> list[int]:
    from cryptography.fernet import Fernet

    bad = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode() if isinstance(key, str) else key)
        except (ValueError, TypeError):
            bad.append(position)
    return bad


@checks.register(checks.Tags.security)
def check_token_keys_valid(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    keys = list(getattr(settings, "TOKEN_ENCRYPTION_KEYS", []) or [])
    bad = _invalid_keys(keys)
    if not bad:
        return []
    return [checks.Error(
        f"TOKEN_ENCRYPTION_KEYS: key number {', '.join(map(str, bad))} (counting from the newest) is not a "
        "valid Fernet key.",
        hint="Each key is 32 url-safe base64-encoded bytes: generate one with "
             "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'. "
             "The value is a comma-separated list, newest first.",
        id="portal.E001",
    )]


@checks.register(checks.Tags.security, deploy=True)
def check_token_keys_configured(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if list(getattr(settings, "TOKEN_ENCRYPTION_KEYS", []) or []):
        return []
    return [checks.Warning(
        "TOKEN_ENCRYPTION_KEYS is not set: IES tokens are encrypted with a key derived from SECRET_KEY.",
        hint="Set TOKEN_ENCRYPTION_KEYS to one or more Fernet keys (comma-separated, newest first); after adding "
             "a new key run manage.py rotate_token_keys.",
        id="portal.W001",
    )]
