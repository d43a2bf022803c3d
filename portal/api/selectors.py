"""Reads of tokens and of kept answers."""

from django.contrib.auth.models import User
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from portal.api import tokens
from portal.api.models import ApiToken, IdempotentRequest
from portal.tenants.models import Membership


def token_list_for_user(*, user: User, tenant_id: int) -> QuerySet[ApiToken]:
    """The user's tokens for one tenant, newest first (revoked and expired ones included)."""
    return ApiToken.objects.filter(user=user, tenant_id=tenant_id)


def token_list_for_staff() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("user", "tenant", "revoked_by")


def token_for_secret(secret: str) -> ApiToken | None:
    """The live token this secret proves, with its user, tenant and the user's role in the tenant
    (``role``: None when the user is no longer a member); None for anything else."""
    prefix = tokens.prefix_of(secret)
    if prefix is None:
        return None
    role = Membership.objects.filter(user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id")).values("role")[:1]
    token = (ApiToken.objects.select_related("user", "tenant").annotate(role=Subquery(role))
             .filter(prefix=prefix).first())
    if token is None or not tokens.matches(secret, token.digest):
        return None
    return token


def is_live(token: ApiToken) -> bool:
    """Usable now: not revoked, not expired, its user active, its tenant active, still a member."""
    return (token.revoked_at is None and token.expires_at > timezone.now() and token.user.is_active
            and token.tenant.is_active and getattr(token, "role", None) is not None)


def idempotent_request(*, user_id: int, tenant_id: int, key: str) -> IdempotentRequest | None:
    return IdempotentRequest.objects.filter(user_id=user_id, tenant_id=tenant_id, key=key).first()
