"""mozilla-django-oidc's backend, made strict and quiet.

Strict: the ID token must be signed with the configured algorithm by a key of the provider's JWKS,
name the configured issuer and this client as its audience, be unexpired (a minute of clock skew
allowed), carry the nonce of this sign-in, and the userinfo must be about the same subject. The
library checks only the signature and nonce by default.

Quiet: Django builds every backend at every password login, so building this one reads no settings
and asks no provider; it acts only on the single sign-on callback (a code, a state and a nonce).
A refusal is kept on the request (``sso_failure``) for the callback page to explain and audit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.sso import config, discovery, services
from portal.sso.failures import SsoRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

logger = logging.getLogger(__name__)
CLOCK_SKEW_SECONDS = 60


class SsoBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or "nonce" not in kwargs or not config.enabled():
            return None
        request.sso_attempt = True  # type: ignore[attr-defined]
        try:
            found = discovery.provider()
            self.issuer = found.issuer
            self.OIDC_OP_TOKEN_ENDPOINT = found.token_endpoint
            self.OIDC_OP_USER_ENDPOINT = found.userinfo_endpoint
            self.OIDC_OP_JWKS_ENDPOINT = found.jwks_uri
            self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
            self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
            self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
            self.OIDC_RP_IDP_SIGN_KEY = None
            return super().authenticate(request, **kwargs)
        except discovery.ProviderError as exc:
            return self._refused(request, exc.reason, str(exc))
        except SsoRefused as exc:
            return self._refused(request, exc.reason, exc.detail)
        except SuspiciousOperation as exc:  # the library's own checks: nonce, key, algorithm
            return self._refused(request, "signature", str(exc))
        except requests.RequestException as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            # The token endpoint refusing the code: used already, or expired.
            return self._refused(request, "state" if status in (400, 401) else "unreachable", str(exc)[:200])

    def get_user(self, user_id: Any) -> User | None:
        """The session's user, as Django's ModelBackend gives it: none once the account is disabled
        (mozilla-django-oidc's own get_user would keep a disabled person signed in)."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    @staticmethod
    def _refused(request: HttpRequest, reason: str, detail: str) -> None:
        logger.info("single sign-on refused: %s", reason)
        request.sso_failure = (reason, detail)  # type: ignore[attr-defined]
        return None

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        try:
            algorithm = jwt.get_unverified_header(payload).get("alg")
        except jwt.PyJWTError as exc:
            raise SsoRefused("signature", "not a JWT") from exc
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SsoRefused("signature", f"signed with {algorithm!r}")
        try:
            return jwt.decode(payload, key, algorithms=[algorithm], audience=self.OIDC_RP_CLIENT_ID,
                              issuer=self.issuer, leeway=CLOCK_SKEW_SECONDS,
                              options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise SsoRefused("expired", "the ID token has expired") from exc
        except jwt.InvalidIssuerError as exc:
            raise SsoRefused("issuer", "the ID token names another issuer") from exc
        except jwt.InvalidAudienceError as exc:
            raise SsoRefused("audience", "the ID token is for another client") from exc
        except jwt.PyJWTError as exc:
            raise SsoRefused("signature", type(exc).__name__) from exc

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if str(userinfo.get("sub", "")) != str(payload.get("sub", "")):
            raise SsoRefused("subject", "the userinfo is about another subject")
        # The ID token's own claims (amr: how the person signed in) with the userinfo's on top.
        claims = {**payload, **userinfo}
        request = self.request
        user = services.sign_in(issuer=self.issuer, claims=claims, request=request)
        request.sso_second_factor = services.provider_verified_second_factor(payload.get("amr"))
        return user
