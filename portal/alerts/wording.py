"""An alert event in words, in any language: the page, the mail and the chat robots all say this
(a helper every layer of the app may use: the services write mails and webhooks with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext as _

from portal.alerts.models import EventStatus, Level, RuleKind
from portal.core.units import format_kbps
from portal.services.status_words import status_label

if TYPE_CHECKING:
    from portal.alerts.models import AlertEvent


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f} %"


def _direction(code: str) -> str:
    return {"in": _("Inbound utilisation"), "out": _("Outbound utilisation")}.get(code, _("Utilisation"))


def _utilisation(facts: dict[str, Any], status: str, service: str) -> str:
    if status == EventStatus.CLEARED:
        return _("%(what)s of %(service)s is back below %(clear)s (now %(now)s).") % {
            "what": _direction(facts.get("direction", "")), "service": service, "clear": _pct(facts.get("clear")),
            "now": _pct(facts.get("figure"))}
    return _("%(what)s of %(service)s above %(threshold)s for %(minutes)s min (lowest %(figure)s).") % {
        "what": _direction(facts.get("direction", "")), "service": service,
        "threshold": _pct(facts.get("threshold")), "minutes": facts.get("window"), "figure": _pct(facts.get("figure"))}


def _quiet(facts: dict[str, Any], status: str, service: str) -> str:
    if status == EventStatus.CLEARED:
        return _("%(service)s carries traffic again (%(rate)s).") % {
            "service": service, "rate": format_kbps(facts.get("figure"))}
    return _("%(service)s is quiet: below %(floor)s for %(minutes)s min, the connection may be down.") % {
        "service": service, "floor": format_kbps(facts.get("floor")), "minutes": facts.get("window")}


def _operation(facts: dict[str, Any], service: str) -> str:
    what = {"create": _("Order"), "modify": _("Bandwidth change"), "delete": _("Deletion")}.get(
        facts.get("operation_kind", ""), _("Operation"))
    event = facts.get("event")
    if event == "failed":
        text = _("%(what)s of %(service)s failed.") % {"what": what, "service": service}
    elif event == "stuck":
        text = _("%(what)s of %(service)s is taking longer than usual.") % {"what": what, "service": service}
    else:
        text = _("%(what)s of %(service)s finished.") % {"what": what, "service": service}
    return f"{text} {facts['message']}" if facts.get("message") else text


def _service_state(facts: dict[str, Any], status: str, service: str) -> str:
    if status == EventStatus.CLEARED:
        return _("%(service)s is active again at IES.") % {"service": service}
    return _("IES reports %(service)s as %(state)s.") % {
        "service": service, "state": status_label(facts.get("state", ""))}


def _policy(facts: dict[str, Any], service: str) -> str:
    values = {"policy": facts.get("policy", ""), "service": service, "bandwidth": format_kbps(facts.get("kbps"))}
    event = facts.get("event")
    if event == "refused":
        text = _("Policy “%(policy)s”: IES refused the change of %(service)s to %(bandwidth)s.") % values
    elif event == "awaiting":
        text = _("Policy “%(policy)s”: changing %(service)s to %(bandwidth)s awaits approval.") % values
    else:
        text = _("Policy “%(policy)s”: %(service)s is being changed to %(bandwidth)s.") % values
    return f"{text} {facts['reason']}" if facts.get("reason") else text


def summary(event: AlertEvent, language: str | None = None) -> str:
    """One sentence; in ``language`` when given, else the active one."""
    with translation.override(language) if language else translation.override(translation.get_language()):
        service = event.service_name or _("a service")
        facts = event.facts or {}
        if event.kind == RuleKind.UTILISATION:
            return _utilisation(facts, event.status, service)
        if event.kind == RuleKind.QUIET:
            return _quiet(facts, event.status, service)
        if event.kind == RuleKind.OPERATION:
            return _operation(facts, service)
        if event.kind == RuleKind.SERVICE_STATE:
            return _service_state(facts, event.status, service)
        return _policy(facts, service)


def level_label(level: str) -> str:
    return str(Level(level).label) if level in Level.values else level


def headline(event: AlertEvent, language: str | None = None) -> str:
    """The mail's subject: status and level first, so an inbox sorts them at a glance."""
    with translation.override(language) if language else translation.override(translation.get_language()):
        if event.status == EventStatus.CLEARED:
            tag = _("Cleared")
        elif event.status == EventStatus.REMINDER:
            tag = _("Still %(level)s") % {"level": level_label(event.level).lower()}
        else:
            tag = level_label(event.level)
        return f"[{tag}] {event.rule_name}: {summary(event)}"
