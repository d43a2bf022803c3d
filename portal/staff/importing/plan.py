"""Planning: what applying the parsed rows would change, read from the database (it writes nothing).

A `Plan` says per row: create, update or unchanged, for the tenant, its secrets, each user and
each membership; its `digest` lets the apply refuse a plan that differs from the one previewed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model

from portal.core import crypto
from portal.staff.importing.columns import TENANT_COLUMNS
from portal.staff.importing.parse import SheetRow
from portal.tenants.models import Membership, Role, Tenant

if TYPE_CHECKING:
    from django.db.models import Field

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class UserChange:
    username: str
    user: str  # create / unchanged
    membership: str  # create / update / unchanged
    role: str
    old_role: str = ""


@dataclass
class SecretReplacement:
    """A stored token (or bearer) that the file would overwrite with a different one: only the
    lengths and last four characters, which the portal shows anyway, never the values."""

    key: str  # token / bearer
    old_last4: str
    old_length: int
    new_last4: str
    new_length: int


@dataclass
class RowPlan:
    number: int
    tenant: str
    tenant_action: str
    tenant_fields: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # which secrets are set or replaced
    users: list[UserChange] = field(default_factory=list)
    # Secrets in `secrets` that replace a stored working one: applied only when the admin ticks
    # "replace" for this tenant (a deck's shortened token would otherwise silently break it).
    replaces: list[SecretReplacement] = field(default_factory=list)

    @property
    def tenant_field_labels(self) -> list[str]:
        """The changed fields as a person reads them ("reference service name", not ref_service_name)."""
        # The tenant's own columns, never a relation: each has a verbose name.
        return [str(cast("Field[Any, Any]", Tenant._meta.get_field(name)).verbose_name) for name in self.tenant_fields]

    @property
    def action(self) -> str:
        if self.tenant_action == CREATE:
            return CREATE
        if self.tenant_action == UPDATE or self.secrets or any(
                u.user != UNCHANGED or u.membership != UNCHANGED for u in self.users):
            return UPDATE
        return UNCHANGED


@dataclass
class Plan:
    rows: list[RowPlan]
    tenants: dict[str, str] = field(default_factory=dict)  # tenant name → create / update / unchanged

    def count(self, what: str, action: str) -> int:
        if what == "tenants":
            return sum(1 for value in self.tenants.values() if value == action)
        if what == "users":
            return len({u.username for r in self.rows for u in r.users if u.user == action})
        if what == "memberships":
            return len({(r.tenant, u.username) for r in self.rows for u in r.users if u.membership == action})
        if what == "rows":
            return sum(1 for r in self.rows if r.action == action)
        raise ValueError(what)

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        return {what: {action: self.count(what, action) for action in (CREATE, UPDATE, UNCHANGED)}
                for what in ("rows", "tenants", "users", "memberships")}

    @property
    def changes_anything(self) -> bool:
        return any(r.action != UNCHANGED for r in self.rows)

    @property
    def tenants_losing_credentials(self) -> list[str]:
        """Tenants whose stored (working) token or bearer the file would replace."""
        return list(dict.fromkeys(r.tenant for r in self.rows if r.replaces))

    def without_replacements(self, *, allowed: Iterable[str]) -> Plan:
        """This plan with the stored credentials kept for every tenant not in `allowed`."""
        allowed = set(allowed)
        rows = []
        for row in self.rows:
            if row.replaces and row.tenant not in allowed:
                kept = {r.key for r in row.replaces}
                row = replace(row, secrets=[key for key in row.secrets if key not in kept], replaces=[])
            rows.append(row)
        return Plan(rows=rows, tenants=_tenant_actions(rows))

    @property
    def digest(self) -> str:
        """A fingerprint of what will change (no secret in it): apply refuses a plan that differs
        from the one the admin previewed."""
        return hashlib.sha256(json.dumps([asdict(r) for r in self.rows], sort_keys=True).encode()).hexdigest()


def tenant_values(row: SheetRow) -> dict[str, Any]:
    """The tenant fields this row sets: only the columns the sheet has."""
    names = {"kind": "ref_kind", "service_id": "ref_service_id", "service_name": "ref_service_name",
             "cloud_vpn_name": "ref_cloud_vpn_name", "scenarios": "scenarios"}
    return {names[key]: getattr(row, key) for key in TENANT_COLUMNS if key in row.present}


def _secret_changes(tenant: Tenant | None, row: SheetRow) -> tuple[list[str], list[SecretReplacement]]:
    """Which secrets of `row` differ from the stored ones, and which of those overwrite a stored one."""
    changes: list[str] = []
    replacements: list[SecretReplacement] = []
    for key, stored_field in (("token", "token_encrypted"), ("bearer", "bearer_encrypted")):
        new = getattr(row, key)
        if not new:
            continue
        stored = getattr(tenant, stored_field) if tenant else ""
        try:
            old = crypto.decrypt(stored) if stored else ""
        except crypto.TokenDecryptionError:
            old = ""  # unreadable with today's keys: it works for nobody, replacing it breaks nothing
        if old == new:
            continue
        changes.append(key)
        if old:
            replacements.append(SecretReplacement(key=key, old_last4=old[-4:], old_length=len(old),
                                                  new_last4=new[-4:], new_length=len(new)))
    return changes, replacements


def build_plan(rows: list[SheetRow]) -> Plan:
    """What applying `rows` would change, read from the database now (a few queries in all)."""
    tenants = {t.name: t for t in Tenant.objects.filter(name__in={r.tenant for r in rows})}
    usernames = {u for r in rows for u in r.users}
    users = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
    memberships = {(m.tenant.name, m.user.username): m.role for m in Membership.objects.filter(
        tenant__name__in=tenants.keys(), user__username__in=usernames).select_related("tenant", "user")}
    plans: list[RowPlan] = []
    seen_tenants: set[str] = set()
    seen_secrets: set[tuple[str, str]] = set()
    for row in rows:
        tenant = tenants.get(row.tenant)
        values = tenant_values(row)
        if row.tenant in seen_tenants:
            action, changed = UNCHANGED, []  # the first row of this tenant carries its changes
        elif tenant is None:
            action, changed = CREATE, sorted(values)
        else:
            changed = [name for name, value in values.items() if getattr(tenant, name) != value]
            action = UPDATE if changed else UNCHANGED
        seen_tenants.add(row.tenant)
        changes, replacements = _secret_changes(tenant, row)
        secrets = [key for key in changes if (row.tenant, key) not in seen_secrets]
        seen_secrets.update((row.tenant, key) for key in secrets)
        plan = RowPlan(number=row.number, tenant=row.tenant, tenant_action=action, tenant_fields=changed,
                       secrets=secrets, replaces=[r for r in replacements if r.key in secrets])
        for username in row.users:
            old_role = memberships.get((row.tenant, username), "")
            role = row.role or old_role or Role.MEMBER
            if not old_role:
                membership = CREATE
            elif old_role != role:
                membership = UPDATE
            else:
                membership = UNCHANGED
            plan.users.append(UserChange(username=username, user=UNCHANGED if username in users else CREATE,
                                         membership=membership, role=role, old_role=old_role))
        plans.append(plan)
    # A user new to the portal is created once, by the first row naming them.
    created: set[str] = set()
    for plan in plans:
        for change in plan.users:
            if change.user == CREATE:
                if change.username in created:
                    change.user = UNCHANGED
                created.add(change.username)
    return Plan(rows=plans, tenants=_tenant_actions(plans))


def _tenant_actions(rows: list[RowPlan]) -> dict[str, str]:
    actions: dict[str, str] = {}
    for row in rows:
        action = UPDATE if row.secrets and row.tenant_action == UNCHANGED else row.tenant_action
        actions[row.tenant] = _stronger(actions.get(row.tenant, UNCHANGED), action)
    return actions


def _stronger(a: str, b: str) -> str:
    order = (UNCHANGED, UPDATE, CREATE)
    return max(a, b, key=order.index)


class PlanChanged(Exception):
    """The database changed between preview and apply: the admin must look at the new preview."""
