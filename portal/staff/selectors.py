"""Reads for the staff pages: tenants, users and their memberships.

Staff see every tenant, so these do not go through portal.tenants.access (which scopes a *tenant
user* to their own tenant); the views that call them are all behind `staff_required`.

Lists come in natural order, the way people count: user2 before user10, nbitest_9 before nbitest_11
(the database would sort them as text). They are small (tenants and users of one portal), so the
sorting happens here, in Python.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.core.natural import natural_sorted
from portal.tenants import throttle
from portal.tenants.models import Membership, Tenant


def tenant_list() -> list[Tenant]:
    return natural_sorted(Tenant.objects.annotate(member_count=Count("memberships")), key=lambda t: t.name)


def tenant_get(*, pk: int) -> Tenant:
    return get_object_or_404(Tenant, pk=pk)


def tenant_memberships(*, tenant: Tenant) -> list[Membership]:
    return natural_sorted(tenant.memberships.select_related("user"), key=lambda m: m.user.get_username())


def user_list(*, query: str = "", status: str = "") -> list[User]:
    """Users matching `query` and `status`, each with `tenant_memberships` in natural order."""
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
    listed = natural_sorted(users, key=lambda u: u.get_username())
    for user in listed:
        # For the template, beside the user: not an attribute the model declares.
        user.tenant_memberships = natural_sorted(user.memberships.all(), key=lambda m: m.tenant.name)  # type: ignore[attr-defined]
    return listed


def user_get(*, pk: int) -> User:
    return get_object_or_404(get_user_model(), pk=pk)


def user_memberships(*, user: User) -> list[Membership]:
    return natural_sorted(user.memberships.select_related("tenant"), key=lambda m: m.tenant.name)


def membership_get(*, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user", "tenant"), pk=pk)


def tenants_without(*, user: User) -> QuerySet[Tenant]:
    """Tenants `user` does not belong to yet (the choices of "add to tenant"; a queryset, which the
    form validates against; the form lists them in natural order)."""
    return Tenant.objects.exclude(memberships__user=user).order_by("name")


def lockout_list() -> list[throttle.Lockout]:
    """Accounts and network addresses the login throttle holds locked out now."""
    return throttle.lockout_list()


def lockout_for_user(*, user: User) -> throttle.Lockout | None:
    return throttle.lockout_for_account(user.get_username())
