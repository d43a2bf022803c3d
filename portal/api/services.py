"""Tokens made, used and revoked; answers kept for Idempotency-Key."""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.api import tokens
from portal.api.models import VIEWER_SCOPES, ApiToken, IdempotentRequest, Scope
from portal.audit.services import audit_record, client_address
from portal.tenants.models import Membership, Role

# How long Idempotency-Key answers are kept.
IDEMPOTENCY_TTL = timedelta(hours=24)
# last_used_at is written at most this often per token: a busy script does not write every request.
TOUCH_EVERY = timedelta(seconds=60)


class TokenRefused(ValueError):
    """A token the portal will not make, with the reason in the user's words."""


def allowed_scopes(role: str) -> frozenset[str]:
    return VIEWER_SCOPES if role == Role.VIEWER else frozenset(Scope.values)


@transaction.atomic
def token_create(*, membership: Membership, name: str, scopes: list[str], expires_at: datetime,
                 request: HttpRequest | None = None) -> tuple[ApiToken, str]:
    """Make a token for the membership's user and tenant: the row and the secret (shown once)."""
    wanted = sorted(set(scopes), key=Scope.values.index)
    extra = set(wanted) - allowed_scopes(membership.role)
    if extra:
        raise TokenRefused("scopes beyond the role")
    for _attempt in range(3):
        secret, prefix = tokens.new_token()
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(user=membership.user, tenant=membership.tenant, name=name,
                                                prefix=prefix, digest=tokens.digest_of(secret), scopes=wanted,
                                                expires_at=expires_at)
            break
        except IntegrityError:  # a prefix already taken: 36^8 makes this rare, not impossible
            continue
    else:
        raise TokenRefused("no free prefix")
    audit_record(action="api_token.create", actor=membership.user, tenant=membership.tenant, obj=token,
                 object_type="api_token", after={"name": name, "scopes": wanted,
                                                 "expires_at": expires_at.isoformat(timespec="minutes")},
                 outcome="succeeded", request=request)
    return token, secret


@transaction.atomic
def token_revoke(*, token: ApiToken, by: User, request: HttpRequest | None = None) -> bool:
    """Revoke the token (False when it was revoked already)."""
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by):
        return False
    token.revoked_at, token.revoked_by = now, by
    audit_record(action="api_token.revoke", actor=by, tenant=token.tenant, obj=token, object_type="api_token",
                 before={"name": token.name, "user": token.user.get_username()}, outcome="succeeded",
                 request=request)
    return True


def token_touch(*, token: ApiToken, request: HttpRequest) -> None:
    """Record when and from where the token was last used (at most once a minute, or on a new address)."""
    now = timezone.now()
    address = client_address(request)
    if (token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY
            and token.last_used_address == address):
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_address=address)
    token.last_used_at, token.last_used_address = now, address


def idempotency_claim(*, user_id: int, tenant_id: int, key: str, fingerprint: str) -> IdempotentRequest | None:
    """Claim the key for this request: None when claimed (go on), else the row that holds it
    (done: its answer; pending: a request with the key still running). A row past its 24 h is
    dropped and the key claimed afresh."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                IdempotentRequest.objects.create(user_id=user_id, tenant_id=tenant_id, key=key, fingerprint=fingerprint)
            return None
        except IntegrityError:
            held = IdempotentRequest.objects.filter(user_id=user_id, tenant_id=tenant_id, key=key).first()
            if held is None:
                continue  # released between the insert and the read
            if held.created_at < timezone.now() - IDEMPOTENCY_TTL:
                IdempotentRequest.objects.filter(pk=held.pk, created_at=held.created_at).delete()
                continue
            return held
    raise IntegrityError("idempotency key contended")


def idempotency_keep(*, user_id: int, tenant_id: int, key: str, status: int, content_type: str, body: bytes,
                     location: str = "") -> None:
    IdempotentRequest.objects.filter(user_id=user_id, tenant_id=tenant_id, key=key, done=False).update(
        done=True, status=status, content_type=content_type, body=body, location=location)


def idempotency_release(*, user_id: int, tenant_id: int, key: str) -> None:
    """The request failed on the portal's side: the key may be used again."""
    IdempotentRequest.objects.filter(user_id=user_id, tenant_id=tenant_id, key=key, done=False).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Drop answers past their 24 h (and pending rows a dead process left)."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
