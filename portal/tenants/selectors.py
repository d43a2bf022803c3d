"""Reads for the staff pages: tenants, users and their memberships.

Staff see every tenant, so these do not go through portal.core.access (which scopes a *tenant
user* to their own tenant); the views that call them are all behind `staff_required`.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.tenants.models import Membership, Tenant


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.annotate(member_count=Count("memberships")).order_by("name")


def tenant_get(*, pk: int) -> Tenant:
    return get_object_or_404(Tenant, pk=pk)


def tenant_memberships(*, tenant: Tenant) -> QuerySet[Membership]:
    return tenant.memberships.select_related("user").order_by("user__username")


def user_list(*, query: str = "", status: str = "") -> QuerySet:
    users = get_user_model().objects.order_by("username").prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("tenant").order_by("tenant__name"))
    )
    if query:
        users = users.filter(Q(username__icontains=query) | Q(email__icontains=query)
                             | Q(memberships__tenant__name__icontains=query)).distinct()
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "disabled":
        users = users.filter(is_active=False)
    elif status == "staff":
        users = users.filter(is_staff=True)
    return users


def user_get(*, pk: int):
    return get_object_or_404(get_user_model(), pk=pk)


def user_memberships(*, user) -> QuerySet[Membership]:
    return user.memberships.select_related("tenant").order_by("tenant__name")


def membership_get(*, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user", "tenant"), pk=pk)


def tenants_without(*, user) -> QuerySet[Tenant]:
    """Tenants `user` does not belong to yet (the choices of "add to tenant")."""
    return Tenant.objects.exclude(memberships__user=user).order_by("name")
