"""Who calls: the bearer token, checked once per request, then its rate limit.

Never logs the header: a refused token is described, not quoted.
"""

import math
from dataclasses import dataclass
from typing import cast

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security.base import AuthBase

from portal.api import ratelimit
from portal.api.models import ApiToken, Scope
from portal.api.problems import ApiProblem, forbidden, unauthenticated
from portal.api.selectors import token_for_secret
from portal.api.services import allowed_scopes, token_touch
from portal.core.http import SignedInRequest
from portal.tenants.models import Membership, Tenant


@dataclass(frozen=True)
class Caller:
    token: ApiToken
    tenant: Tenant
    role: str
    scopes: frozenset[str]  # the token's, within what the user's role allows today

    @property
    def membership(self) -> Membership:
        """The token's membership, as the services that change state take it (never saved)."""
        return Membership(user=self.token.user, tenant=self.tenant, role=self.role)

    def require(self, scope: Scope) -> None:
        if scope in self.scopes:
            return
        if scope in self.token.scopes:
            raise forbidden(_("Your role in this tenant no longer allows “%(scope)s”: a viewer's token reads only.")
                            % {"scope": scope.value}, scope=scope.value)
        raise forbidden(_("This token lacks the “%(scope)s” scope. Make a token with it on the API tokens page.")
                        % {"scope": scope.value}, scope=scope.value)


class TokenAuth(AuthBase):
    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_bearerFormat = "cvp_…"

    def __call__(self, request: HttpRequest) -> Caller:
        scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise unauthenticated(_("Send your API token as “Authorization: Bearer cvp_…”."))
        token = token_for_secret(secret.strip())
        if token is None:
            raise unauthenticated(_("This token is not known. Check that it was copied whole."))
        if token.revoked_at is not None:
            raise unauthenticated(_("This token was revoked. Make a new one on the API tokens page."))
        if token.expires_at <= timezone.now():
            raise unauthenticated(_("This token has expired. Make a new one on the API tokens page."))
        role = getattr(token, "role", None)
        if not token.user.is_active or not token.tenant.is_active or role is None:
            raise unauthenticated(_("This token's user or tenant can no longer use the portal."))
        decision = ratelimit.take(f"token:{token.pk}")
        if not decision.allowed:
            wait = max(1, math.ceil(decision.retry_after))
            raise ApiProblem(429, "rate-limited", _("Too many requests"),
                             _("This token sent more requests than allowed. Wait %(s)s s and try again.") % {"s": wait},
                             headers={"Retry-After": str(wait)}, retry_after=wait)
        token_touch(token=token, request=request)
        request.user = token.user
        # Read by the audit log: every write names the token it came with.
        request.api_token_label = f"{token.name} ({token.prefix}…)"  # type: ignore[attr-defined]
        scopes = frozenset(token.scopes) & allowed_scopes(role)
        return Caller(token=token, tenant=token.tenant, role=role, scopes=scopes)



def signed_in(request: HttpRequest) -> SignedInRequest:
    """The request once TokenAuth has set its user (the token's)."""
    return cast("SignedInRequest", request)


def caller(request: HttpRequest) -> Caller:
    """The request's caller (set by TokenAuth before any endpoint runs)."""
    return request.auth  # type: ignore[attr-defined]
