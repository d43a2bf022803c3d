"""A single sign-on's verified claims become a portal user: found, linked, created, kept in step.

Who: the (issuer, subject) pair once linked; before that the configured claim (a verified e-mail
address, or the user name). Memberships: tenants that map the provider's groups get a member or a
viewer; the memberships made so are changed or removed when the groups change, and staff-made ones
are never touched. Every change is audited with the identity provider named as its source.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.audit.context import recorded_by_caller
from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.sso import selectors
from portal.sso.failures import SsoRefused
from portal.sso.models import SsoIdentity
from portal.tenants.models import Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

FROM_PROVIDER = "From the identity provider's groups at single sign-on."
# RFC 8176 methods that are a second factor, or say outright that there were several.
MFA_METHODS = frozenset({"mfa", "otp", "hwk", "sms", "tel", "fpt", "face", "iris", "retina", "vbm", "sc"})


def provider_verified_second_factor(amr: Any) -> bool:
    return isinstance(amr, list) and bool(MFA_METHODS.intersection(str(m) for m in amr))


def _groups(claims: dict[str, Any]) -> set[str] | None:
    """The person's groups, or None when the provider did not say (then memberships stay as they are)."""
    name = settings.SSO_GROUPS_CLAIM
    if not name or name not in claims:
        return None
    value = claims[name]
    if isinstance(value, str):
        value = [value]
    return {str(g) for g in value} if isinstance(value, list) else set()


def _match_value(claims: dict[str, Any]) -> str:
    claim = settings.SSO_MATCH_CLAIM
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise SsoRefused("no_claim", f"no {claim} claim")
    if claim == "email" and claims.get("email_verified") is False:
        raise SsoRefused("email_unverified", value)
    return value.strip()


def _new_username(claims: dict[str, Any], value: str) -> str:
    users = get_user_model()._default_manager
    wanted = str(claims.get("preferred_username") or value.split("@")[0])
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "user"
    name, n = base, 1
    while users.filter(username=name).exists():
        n += 1
        name = f"{base}{n}"
    return name


@transaction.atomic
def sign_in(*, issuer: str, claims: dict[str, Any], request: HttpRequest | None) -> User:
    """The user these verified claims are, after bringing their memberships in step; SsoRefused if none."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoRefused("subject", "no sub claim")
    groups = _groups(claims)
    tenants = selectors.mapped_tenants() if groups is not None else []
    roles = selectors.roles_from_groups(groups or set(), tenants)
    linked = selectors.identity(issuer=issuer, subject=subject)
    if linked is not None:
        user = linked.user
    else:
        value = _match_value(claims)
        found = selectors.users_matching(claim=settings.SSO_MATCH_CLAIM, value=value)
        if len(found) > 1:
            raise SsoRefused("ambiguous", value)
        if found:
            user = found[0]
        elif settings.SSO_CREATE_USERS and roles:
            user = _create_user(claims, value, request)
        else:
            raise SsoRefused("no_account", value)
    if not user.is_active:
        raise SsoRefused("inactive", user.get_username())
    now = timezone.now()
    try:
        with transaction.atomic():
            SsoIdentity.objects.update_or_create(issuer=issuer, subject=subject,
                                                 defaults={"user": user, "last_login_at": now})
    except IntegrityError as exc:  # a second sign-in of the same person racing this one
        raise SsoRefused("state", "a concurrent sign-in") from exc
    if groups is not None:
        _sync_memberships(user, roles, {t.pk: t for t in tenants}, request)
    return user


def _create_user(claims: dict[str, Any], value: str, request: HttpRequest | None) -> User:
    email = str(claims.get("email") or "") if claims.get("email_verified") is not False else ""
    name = str(claims.get("name") or "")
    first, _, last = name.partition(" ")
    with recorded_by_caller():
        user = get_user_model()._default_manager.create_user(
            _new_username(claims, value), email=email, first_name=first[:150], last_name=last[:150])
        user.set_unusable_password()
        user.save(update_fields=["password"])
    audit_record(action="user.create", actor=user, obj=user, after={"username": user.get_username(), "email": email},
                 outcome=Outcome.SUCCEEDED, message=FROM_PROVIDER, request=request)
    return user


def _sync_memberships(user: User, roles: dict[int, str], tenants: dict[int, Any], request: HttpRequest | None) -> None:
    current = {m.tenant_id: m for m in Membership.objects.filter(user=user, tenant_id__in=list(tenants))
               .select_related("tenant")}
    with recorded_by_caller():
        for tenant_id, role in roles.items():
            membership = current.get(tenant_id)
            if membership is None:
                membership = Membership.objects.create(user=user, tenant=tenants[tenant_id], role=role,
                                                       granted_by_sso=True)
                audit_record(action="membership.create", actor=user, tenant=membership.tenant, obj=membership,
                             after={"user": user.get_username(), "role": role}, outcome=Outcome.SUCCEEDED,
                             message=FROM_PROVIDER, request=request)
            elif membership.granted_by_sso and membership.role != role:
                before = membership.role
                membership.role = role
                membership.save(update_fields=["role"])
                audit_record(action="membership.role.change", actor=user, tenant=membership.tenant, obj=membership,
                             before={"role": before}, after={"role": role}, outcome=Outcome.SUCCEEDED,
                             message=FROM_PROVIDER, request=request)
        for tenant_id, membership in current.items():
            if tenant_id not in roles and membership.granted_by_sso:
                audit_record(action="membership.delete", actor=user, tenant=membership.tenant,
                             object_type="tenants.membership", object_id=str(membership.pk),
                             object_label=str(membership), before={"user": user.get_username(),
                                                                   "role": membership.role},
                             outcome=Outcome.SUCCEEDED, message=FROM_PROVIDER, request=request)
                membership.delete()


def refused(*, reason: str, detail: str, request: HttpRequest | None) -> None:
    """A failed single sign-on, in the audit log (what was refused, never a token)."""
    audit_record(action="auth.sso_failed", object_type="auth.login", object_label=detail[:255],
                 after={"reason": reason}, outcome=Outcome.REFUSED, request=request)
