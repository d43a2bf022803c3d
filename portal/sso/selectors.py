"""What single sign-on reads: identities, users by claim, the tenants groups map to, SSO duties."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q

from portal.sso.models import SsoIdentity
from portal.tenants.models import Membership, Role, Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def identity(*, issuer: str, subject: str) -> SsoIdentity | None:
    return SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()


def users_matching(*, claim: str, value: str) -> list[User]:
    users = get_user_model()._default_manager
    if claim == "email":
        return list(users.filter(email__iexact=value)[:2])
    return list(users.filter(username=value)[:2])


def mapped_tenants() -> list[Tenant]:
    """Active tenants that map a group of the identity provider to a role."""
    return list(Tenant.objects.filter(is_active=True).exclude(sso_member_group="", sso_viewer_group=""))


def roles_from_groups(groups: set[str], tenants: list[Tenant]) -> dict[int, str]:
    """Tenant id → the role the groups give (member wins over viewer)."""
    roles: dict[int, str] = {}
    for tenant in tenants:
        if tenant.sso_member_group and tenant.sso_member_group in groups:
            roles[tenant.pk] = Role.MEMBER
        elif tenant.sso_viewer_group and tenant.sso_viewer_group in groups:
            roles[tenant.pk] = Role.VIEWER
    return roles


def tenants_requiring_sso(*, user: User) -> list[str]:
    """Names of the active tenants the user belongs to that sign in only by single sign-on."""
    return list(Membership.objects.filter(user=user, tenant__require_sso=True, tenant__is_active=True)
                .values_list("tenant__name", flat=True))


def users_requiring_sso() -> Q:
    """A filter on users: those a tenant makes sign in by single sign-on."""
    return Q(memberships__tenant__require_sso=True, memberships__tenant__is_active=True)
