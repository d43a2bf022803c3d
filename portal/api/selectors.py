"""Reads of tokens and of kept answers."""

from functools import lru_cache

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from portal.api import tokens
from portal.api.models import ApiToken, IdempotentRequest
from portal.core.compiled import Compiled, bind, compile_query, concrete_attnames, fetch, instance
from portal.tenants.models import Membership, Tenant


def token_list_for_user(*, user: User, tenant_id: int) -> QuerySet[ApiToken]:
    """The user's tokens for one tenant, newest first (revoked and expired ones included)."""
    return ApiToken.objects.filter(user=user, tenant_id=tenant_id)


def token_list_for_staff() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("user", "tenant", "revoked_by")


# A stand-in for the prefix in the compiled query (portal.core.compiled): no token has it.
_PREFIX_SLOT = "cvp_-slot-"


@lru_cache(maxsize=4)
def _token_sql(vendor: str) -> Compiled:
    # Every API request reads it: built and compiled once per process, the token's columns, then
    # its user's, its tenant's, and the user's role in the tenant.
    role = Membership.objects.filter(user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id")).values("role")[:1]
    columns = (*concrete_attnames(ApiToken), *(f"user__{n}" for n in concrete_attnames(User)),
               *(f"tenant__{n}" for n in concrete_attnames(Tenant)))
    return compile_query(ApiToken.objects.filter(prefix=_PREFIX_SLOT).values(*columns).annotate(role=Subquery(role)))


def token_for_secret(secret: str) -> ApiToken | None:
    """The token this secret proves, with its user, tenant and the user's role in the tenant
    (``role``: None when the user is no longer a member); None for anything else."""
    prefix = tokens.prefix_of(secret)
    if prefix is None:
        return None
    compiled = _token_sql(connection.vendor)
    rows = fetch(compiled, bind(compiled, {_PREFIX_SLOT: prefix}))
    if not rows:
        return None
    row = rows[0]
    a, b = len(concrete_attnames(ApiToken)), len(concrete_attnames(ApiToken)) + len(concrete_attnames(User))
    token = instance(ApiToken, row[:a])
    if not tokens.matches(secret, token.digest):
        return None
    ApiToken.user.field.set_cached_value(token, instance(User, row[a:b]))
    ApiToken.tenant.field.set_cached_value(token, instance(Tenant, row[b:-1]))
    token.role = row[-1]  # type: ignore[attr-defined]  # the annotation the ORM would have set
    return token


def idempotent_request(*, user_id: int, tenant_id: int, key: str) -> IdempotentRequest | None:
    return IdempotentRequest.objects.filter(user_id=user_id, tenant_id=tenant_id, key=key).first()
