"""The authentication backend that loads the signed-in user of each request.

Every page needs the user and the user's memberships (the tenant the page acts for, the header's
tenant menu: ``access.current_membership``): Django's ModelBackend reads the user, then the portal
read the memberships, two queries before the page's own. Here one query reads the user with its
memberships and their tenants (a LEFT JOIN: a user of no tenant, staff, is one row of NULLs past
its own columns). Logins are ModelBackend's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from portal.tenants.models import Membership, Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The attribute of the request's user that carries its memberships (read by access.memberships_of).
MEMBERSHIPS_ATTRIBUTE = "_portal_memberships"


def active_memberships_of(user_id: Any):  # -> QuerySet[Membership]
    """The user's memberships of active tenants, by tenant name."""
    return (Membership.objects.filter(user_id=user_id, tenant__is_active=True)
            .select_related("tenant").order_by("tenant__name"))


class MembershipModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user_model = get_user_model()
        try:
            pk = user_model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        models = (user_model, Membership, Tenant)
        prefixes = ("", "memberships__", "memberships__tenant__")
        columns = [[f.name for f in model._meta.concrete_fields] for model in models]
        rows = list(user_model._default_manager.filter(pk=pk).order_by("memberships__tenant__name", "memberships__pk")
                    .values_list(*(prefix + name for prefix, names in zip(prefixes, columns, strict=True)
                                   for name in names)))
        if not rows:
            return None
        cuts = [0, len(columns[0]), len(columns[0]) + len(columns[1]), sum(map(len, columns))]

        def build(model: type, index: int, row: tuple):
            values = row[cuts[index]:cuts[index + 1]]
            return model.from_db(user_model.objects.db, [f.attname for f in model._meta.concrete_fields], values)

        user = build(user_model, 0, rows[0])
        if not self.user_can_authenticate(user):
            return None
        memberships = []
        for row in rows:
            if row[cuts[1]] is None:
                continue  # no membership: the LEFT JOIN's row of NULLs
            membership = build(Membership, 1, row)
            membership.user = user
            membership.tenant = build(Tenant, 2, row)
            if membership.tenant.is_active:
                memberships.append(membership)
        setattr(user, MEMBERSHIPS_ATTRIBUTE, memberships)
        return user
