"""The identity provider's endpoints, read from its OpenID Connect discovery document.

Read once an hour per process (cached in Django's cache), so that a provider moving an endpoint
needs no change here. The document must name the configured issuer exactly (OpenID Connect
Discovery 1.0, section 4.3): a provider claiming to be another is refused before anyone signs in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import requests
from django.conf import settings
from django.core.cache import cache

CACHE_SECONDS = 3600
TIMEOUT_SECONDS = 10


class ProviderError(Exception):
    """The provider could not be asked, or answered what the portal cannot use. ``reason`` is a
    failure code of portal.sso.failures."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str = ""


def _cache_key(issuer: str) -> str:
    return f"sso:discovery:{issuer}"


def provider() -> Provider:
    issuer = settings.SSO_ISSUER
    cached = cache.get(_cache_key(issuer))
    if cached:
        return Provider(**cached)
    found = _discover(issuer)
    cache.set(_cache_key(issuer), asdict(found), CACHE_SECONDS)
    return found


def forget() -> None:
    cache.delete(_cache_key(settings.SSO_ISSUER))


def _discover(issuer: str) -> Provider:
    try:
        answer = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT_SECONDS)
        answer.raise_for_status()
        document = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError("unreachable", str(exc)) from exc
    if not isinstance(document, dict):
        raise ProviderError("unreachable", "the discovery document is not an object")
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderError("issuer", f"the provider names itself {document.get('issuer')!r}")
    try:
        return Provider(
            issuer=issuer,
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            userinfo_endpoint=str(document["userinfo_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            end_session_endpoint=str(document.get("end_session_endpoint") or ""),
        )
    except KeyError as exc:
        raise ProviderError("unreachable", f"the discovery document lacks {exc}") from exc
