"""Auto-scale policies in words: the rules as set, the last look and why a change was decided.

The engine stores codes and figures (models: ``last_check``, ``Occurrence.decision``); these say them
in the reader's language when the page is drawn.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from portal.core.units import format_kbps
from portal.policies.models import BandwidthPolicy, Occurrence


def _statistic(spec: dict[str, Any]) -> str:
    return _("95th percentile") if spec.get("statistic", "p95") == "p95" else _("maximum")


def _direction(spec: dict[str, Any]) -> str:
    return {"in": _("inbound"), "out": _("outbound")}.get(spec.get("direction", "either"),
                                                         _("inbound or outbound, whichever is busier"))


def rules_text(policy: BandwidthPolicy) -> str:
    """"Between 50 Mbit/s and 500 Mbit/s. Scales up when the 95th percentile of utilisation (…) stays
    above 80 % for 15 min, …"."""
    spec = policy.spec
    sizing = (_("to the size that brings it to %(target)s %%") % {"target": f"{spec.get('target_pct', 60):g}"}
              if spec.get("sizing", "target") == "target"
              else _("by %(step)s at a time") % {"step": format_kbps(spec.get("step_kbps"))})
    text = _("Between %(floor)s and %(ceiling)s. Scales up when the %(statistic)s of utilisation (%(direction)s) stays "
             "above %(up)s %% for %(up_for)s min, down when below %(down)s %% for %(down_for)s min, %(sizing)s; at "
             "least %(cooldown)s min between changes, at most %(day)s a day and %(month)s a month.") % {
        "floor": format_kbps(spec.get("floor_kbps")), "ceiling": format_kbps(spec.get("ceiling_kbps")),
        "statistic": _statistic(spec), "direction": _direction(spec),
        "up": f"{spec.get('up_above_pct', 80):g}", "up_for": spec.get("up_for_s", 900) // 60,
        "down": f"{spec.get('down_below_pct', 30):g}", "down_for": spec.get("down_for_s", 3600) // 60,
        "sizing": sizing, "cooldown": spec.get("cooldown_s", 1800) // 60,
        "day": spec.get("max_per_day", 6), "month": spec.get("max_per_month", 60)}
    if spec.get("approval"):
        text += " " + _("Each change waits for approval by a member (at most %(minutes)s min).") % {
            "minutes": spec.get("approval_s", 3600) // 60}
    return text


def reason_text(reason: str, figure: float | None, kbps: int | None, spec: dict[str, Any]) -> str:
    """Why the policy did (or did not do) something, with the figure it saw."""
    values = {"figure": "—" if figure is None else f"{figure:.1f}", "kbps": format_kbps(kbps),
              "statistic": _statistic(spec), "up": f"{spec.get('up_above_pct', 80):g}",
              "down": f"{spec.get('down_below_pct', 30):g}", "up_for": spec.get("up_for_s", 900) // 60,
              "down_for": spec.get("down_for_s", 3600) // 60}
    texts = {
        "up": _("The %(statistic)s of utilisation was %(figure)s %% over the last %(up_for)s min, above %(up)s %%: "
                "up to %(kbps)s."),
        "down": _("The %(statistic)s of utilisation was %(figure)s %% over the last %(down_for)s min, below "
                  "%(down)s %%: down to %(kbps)s."),
        "steady": _("Steady: %(figure)s %% (it scales up above %(up)s %% and down below %(down)s %%)."),
        "not_enough_data": _("Waiting for enough traffic measured at the present bandwidth."),
        "cooldown": _("Waiting out the cooldown after the last change."),
        "day_limit": _("It made as many changes today as it may."),
        "month_limit": _("It made as many changes this month as it may."),
        "at_ceiling": _("Busy (%(figure)s %%), but already at its ceiling."),
        "at_floor": _("Quiet (%(figure)s %%), but already at its floor."),
        "would_flap": _("Quiet (%(figure)s %%), but a smaller size would be busy again: the size stays."),
        "awaiting_approval": _("A change it proposed waits for approval."),
        "change_in_flight": _("Another change of the service is in progress: it looks again after it."),
        "no_traffic": _("IES did not give the traffic at the last look: it looks again in a minute."),
    }
    return texts.get(reason, reason) % values


def check_text(policy: BandwidthPolicy) -> str:
    check = policy.last_check or {}
    if not check:
        return _("Not looked at yet: it looks at the traffic once a minute.")
    return reason_text(check.get("reason", ""), check.get("figure"), check.get("kbps"), policy.spec)


def decision_text(occurrence: Occurrence) -> str:
    decision = occurrence.decision or {}
    if not decision:
        return ""
    return reason_text(decision.get("reason", ""), decision.get("figure"), occurrence.kbps, occurrence.policy.spec)
