"""The audit trail as a person reads it: "Changed bandwidth", "Bandwidth 60 → 80 Mbit/s".

An event stores a stable action code (``service.modify``) and the before/after values as the code
that recorded them had them (kbit/s, field names, role codes). The pages show them through here:
a translated label per action and one line per changed value, with units and choice labels, never a
Python repr. The CSV export keeps the code as a column of its own, for scripts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.core.units import format_kbps

if TYPE_CHECKING:
    from portal.audit.models import AuditEvent

ACTION_LABELS: dict[str, Promise] = {
    "service.create": gettext_lazy("Created service"),
    "service.modify": gettext_lazy("Changed bandwidth"),
    "service.delete": gettext_lazy("Deleted service"),
    "tenant.create": gettext_lazy("Created tenant"),
    "tenant.update": gettext_lazy("Changed tenant"),
    "tenant.activate": gettext_lazy("Activated tenant"),
    "tenant.deactivate": gettext_lazy("Deactivated tenant"),
    "tenant.token.replace": gettext_lazy("Replaced IES credentials"),
    "tenant.check_connection": gettext_lazy("Checked IES connection"),
    "tenant.keys.rotate": gettext_lazy("Re-encrypted tokens with the newest key"),
    "tenant.see_as.start": gettext_lazy("Started seeing as tenant"),
    "tenant.see_as.stop": gettext_lazy("Stopped seeing as tenant"),
    "user.create": gettext_lazy("Created user"),
    "user.enable": gettext_lazy("Enabled user"),
    "user.disable": gettext_lazy("Disabled user"),
    "user.password.reset": gettext_lazy("Reset password"),
    "user.password.change": gettext_lazy("Changed password"),
    "user.password.reset_by_email": gettext_lazy("Reset password by e-mail"),
    "user.update": gettext_lazy("Changed user"),
    "user.delete": gettext_lazy("Deleted user"),
    "auth.lockout": gettext_lazy("Locked out after failed logins"),
    "auth.unlock": gettext_lazy("Unlocked logins"),
    "twofactor.enrol": gettext_lazy("Turned on two-factor authentication"),
    "twofactor.remove": gettext_lazy("Turned off two-factor authentication"),
    "twofactor.reset": gettext_lazy("Reset two-factor authentication"),
    "twofactor.recovery_used": gettext_lazy("Logged in with a recovery code"),
    "twofactor.recovery_regenerate": gettext_lazy("Made new recovery codes"),
    "twofactor.failed": gettext_lazy("Wrong two-factor code"),
    "auth.login": gettext_lazy("Logged in"),
    "auth.login_failed": gettext_lazy("Failed login"),
    "auth.sso_failed": gettext_lazy("Failed single sign-on"),
    "alert_rule.create": gettext_lazy("Made an alert rule"),
    "alert_rule.update": gettext_lazy("Changed an alert rule"),
    "alert_rule.delete": gettext_lazy("Deleted an alert rule"),
    "auth.sessions.end": gettext_lazy("Signed out another session"),
    "auth.sessions.end_others": gettext_lazy("Signed out everywhere else"),
    "membership.create": gettext_lazy("Added member"),
    "membership.role.change": gettext_lazy("Changed role"),
    "membership.delete": gettext_lazy("Removed member"),
    "presets.load": gettext_lazy("Loaded the preset tenants and users"),
    "import.preview": gettext_lazy("Previewed an import"),
    "import.apply": gettext_lazy("Imported the preset table"),
    "tenants.export": gettext_lazy("Exported the preset table"),
    "audit.export": gettext_lazy("Exported the audit log"),
    "policy.create": gettext_lazy("Planned a bandwidth policy"),
    "policy.pause": gettext_lazy("Paused a bandwidth policy"),
    "policy.resume": gettext_lazy("Resumed a bandwidth policy"),
    "policy.end": gettext_lazy("Ended a bandwidth policy"),
    "policy.update": gettext_lazy("Edited a bandwidth calendar"),
    "policy.approve": gettext_lazy("Approved a change an auto-scale policy proposed"),
    "policy.decline": gettext_lazy("Declined a change an auto-scale policy proposed"),
    "policy.automation_pause": gettext_lazy("Stopped every bandwidth policy of the tenant"),
    "policy.automation_resume": gettext_lazy("Let the tenant's bandwidth policies run again"),
    "api_token.create": gettext_lazy("Created an API token"),
    "api_token.revoke": gettext_lazy("Revoked an API token"),
    "webhook.create": gettext_lazy("Added a webhook"),
    "webhook.delete": gettext_lazy("Deleted a webhook"),
    "webhook.disable": gettext_lazy("Disabled a webhook that kept failing"),
}

FIELD_LABELS: dict[str, Promise] = {
    "bandwidth_kbps": gettext_lazy("Bandwidth"),
    "name": gettext_lazy("Name"),
    "kind": gettext_lazy("Kind"),
    "cloud_vpn_name": gettext_lazy("CloudVpnName"),
    "token": gettext_lazy("Token"),
    "bearer": gettext_lazy("Bearer"),
    "role": gettext_lazy("Role"),
    "user": gettext_lazy("User"),
    "username": gettext_lazy("User name"),
    "email": gettext_lazy("Email"),
    "is_staff": gettext_lazy("Administrator"),
    "is_active": gettext_lazy("Active"),
    "is_superuser": gettext_lazy("Superuser"),
    "locked": gettext_lazy("Locked"),
    "address": gettext_lazy("Network address"),
    "services": gettext_lazy("Services"),
    "scenarios": gettext_lazy("Scenarios"),
    "ies_base_url": gettext_lazy("IES base URL"),
    "ies_tenant_id": gettext_lazy("IES tenant id"),
    "ref_kind": gettext_lazy("Reference service kind"),
    "ref_service_id": gettext_lazy("Reference service id"),
    "ref_service_name": gettext_lazy("Reference service name"),
    "ref_cloud_vpn_name": gettext_lazy("Reference CloudVpnName"),
    "policy": gettext_lazy("Policy"),
    "plan": gettext_lazy("Plan"),
    "state": gettext_lazy("State"),
    "method": gettext_lazy("Method"),
    "reason": gettext_lazy("Reason"),
    "require_two_factor": gettext_lazy("Require two-factor authentication"),
    "require_sso": gettext_lazy("Require single sign-on"),
    "sso_member_group": gettext_lazy("Identity provider group for members"),
    "sso_viewer_group": gettext_lazy("Identity provider group for viewers"),
}
# Values that identify how a request was sent, not what changed.
HIDDEN_FIELDS = frozenset({"list_key"})
SECRET_FIELDS = frozenset({"token", "bearer"})

IMPORT_GROUPS: dict[str, Promise] = {
    "tenants": gettext_lazy("Tenants"),
    "users": gettext_lazy("Users"),
    "memberships": gettext_lazy("Memberships"),
}
IMPORT_COUNTS: dict[str, Promise] = {
    "create": gettext_lazy("%(n)s created"),
    "update": gettext_lazy("%(n)s updated"),
}


def action_label(code: str) -> str:
    """The translated name of an action code; an unknown code (a newer or older portal's) is made
    readable rather than shown raw: "bulk.thing" → "Bulk thing"."""
    label = ACTION_LABELS.get(code)
    if label is not None:
        return str(label)
    return capfirst(code.replace(".", " ").replace("_", " ").strip()) or "—"


def action_choices(codes: Iterable[str], current: str = "") -> list[tuple[str, str]]:
    """(code, label) for an action filter, ordered by label; a typed-in code or prefix ("tenant.")
    that no event has stays selectable."""
    from portal.core.natural import natural_sorted

    codes = list(dict.fromkeys(codes))
    if current and current not in codes:
        codes.append(current)
    return natural_sorted(((code, action_label(code)) for code in codes), key=lambda pair: pair[1])


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else capfirst(name.replace("_", " "))


def _choice_labels() -> dict[str, dict[str, str]]:
    from portal.tenants.models import Role, Scenario

    return {"role": {str(k): str(v) for k, v in Role.choices},
            "scenarios": {str(k): str(v) for k, v in Scenario.choices},
            "locked": {"account": _("the account"), "address": _("the network address")},
            "method": {"sso": _("single sign-on")}}


def format_value(name: str, value: Any) -> str:
    """One value as a person reads it (never a repr): units, yes/no, choice labels, plain lists."""
    if value is None or value == "" or value == []:
        return "—"
    if name == "bandwidth_kbps":
        return format_kbps(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    labels = _choice_labels().get(name, {})
    if isinstance(value, list | tuple):
        return ", ".join(labels.get(str(item), format_value("", item)) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(str(k))} {format_value(str(k), v)}" for k, v in value.items())
    return labels.get(str(value), str(value))


@dataclass(frozen=True)
class Change:
    """One line of an event's change: a value set, removed, or changed from one to another."""

    label: str
    before: str | None
    after: str | None
    # Instead of values, a sentence about the label: "Token changed" (a secret is never shown, not
    # even masked); "%(label)s changed".
    sentence: str = ""

    def __str__(self) -> str:
        if self.sentence:
            return self.sentence % {"label": self.label}
        if self.before is not None and self.after is not None:
            return f"{self.label} {_arrow(self.before, self.after)}"
        return _("%(label)s: %(value)s") % {"label": self.label, "value": self.after or self.before}


def _arrow(before: str, after: str) -> str:
    """ "60 Mbit/s", "80 Mbit/s" → "60 → 80 Mbit/s": a unit both sides share is said once."""
    b_number, _sep, b_unit = before.rpartition(" ")
    a_number, _sep, a_unit = after.rpartition(" ")
    if b_unit and b_unit == a_unit and b_unit.endswith("/s") and b_number and a_number:
        return f"{b_number} → {a_number} {a_unit}"
    return f"{before} → {after}"


def _secret_change(name: str, before: Any, after: Any, both: bool) -> Change | None:
    label = field_label(name)
    if both and before == after:
        return None
    if both and before:
        return Change(label, None, None, sentence=_("%(label)s changed"))
    if after:
        return Change(label, None, None, sentence=_("%(label)s set"))
    return None


def _import_summary(summary: dict) -> list[Change]:
    lines = []
    for group, label in IMPORT_GROUPS.items():
        counts = summary.get(group)
        if not isinstance(counts, dict):
            continue
        parts = [str(text) % {"n": counts[key]} for key, text in IMPORT_COUNTS.items() if counts.get(key)]
        if parts:
            lines.append(Change(str(label), None, ", ".join(parts)))
    return lines


def changes(*, action: str, before: Any, after: Any) -> list[Change]:
    """The lines that say what an event changed.

    With both sides recorded, a line per value recorded before (the ones after that have no
    "before" are context, such as the connection a bandwidth change went to); with one side, a
    line per value it holds."""
    if action == "import.apply" and isinstance(after, dict):
        return _import_summary(after)
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    both = bool(before) and bool(after)
    names: Iterable[str] = before.keys() if both else (before or after).keys()
    lines: list[Change] = []
    for name in names:
        if name in HIDDEN_FIELDS:
            continue
        old, new = before.get(name), after.get(name)
        if name in SECRET_FIELDS:
            line = _secret_change(name, old, new, both)
            if line is not None:
                lines.append(line)
            continue
        if both:
            if old == new:
                continue
            lines.append(Change(field_label(name), format_value(name, old), format_value(name, new)))
        elif new in (None, "", []) and old in (None, "", []):
            continue
        elif before:
            lines.append(Change(field_label(name), format_value(name, old), None))
        else:
            lines.append(Change(field_label(name), None, format_value(name, new)))
    return lines


def event_changes(event: AuditEvent) -> list[str]:
    """The change lines of an AuditEvent, as text."""
    return [str(line) for line in changes(action=event.action, before=event.before, after=event.after)]
