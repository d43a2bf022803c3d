"""What the policies' charts draw: the preview of the planned bandwidth, and a backtest's outcome.

Both build one payload shape, drawn by ``static/js/policies.js`` through
``templates/policies/_chart.html`` (``json_script``: the pages run under a strict CSP). Every text
the script shows comes in the payload, translated here, as traffic.js gets its texts.

The payload (times are Unix seconds; bandwidths kbit/s; rates bit/s, null where IES has no value):

- ``kind``: "preview" or "backtest"; ``caption``, ``summary`` (the chart in words, shown under it
  for those who cannot see it) and ``notes`` (why traffic is missing, or from when it is);
- ``start``, ``end``: the time axis; ``interval``: the traffic's bucket (the hover grid);
  ``now``: where the vertical "now" marker stands (None: no marker);
- ``tz`` (name, label, abbreviations) and ``unit`` (name, factor): as the traffic chart's;
- ``traffic``: {"t", "in", "out"}, or None when there is none to draw;
- ``lines``: step lines, each {"key", "label", "steps": [[at, kbps], ...], "until", "dashed"}:
  from its first step to ``until``; a kbps of None leaves a gap;
- ``markers``: a backtest's changes, each {"at" (effective), "decided_at", "kbps"};
- ``texts``: the script's words (legend, axis, tooltip).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from ies_client.errors import IESError
from portal.core.units import format_kbps
from portal.policies.models import Occurrence, OccurrenceState, PolicyState
from portal.policies.services import HORIZON
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.ies_errors import describe
from portal.traffic import ranges, selectors
from portal.traffic.downsample import minmax_downsample

if TYPE_CHECKING:
    from portal.policies.backtest import Outcome
    from portal.services.models import Service
    from portal.tenants.models import Tenant

PREVIEW_PAST = {"range": "7d"}  # the traffic page's 7-day preset: the same cached buckets
# minmax_downsample keeps two points (min and max) per column: this many columns give ~1,000 points.
BACKTEST_COLUMNS = 500
SUMMARY_CHANGES = 12  # a backtest over a month may change sixty times: the summary names the first ones


def _when(at: int) -> str:
    """"Fri 2026-12-11 18:00 CST": the page's way of writing a time, with the day of the week."""
    return dateformat.format(datetime.fromtimestamp(at, ranges.zone()), "D Y-m-d H:i T")


def _ints(values: np.ndarray) -> list[int | None]:
    return [None if v != v else int(v) for v in np.rint(values).tolist()]


def _changes_text(steps: Iterable[tuple[int, int | None]]) -> str:
    return pgettext("list separator", ", ").join(
        _("%(bandwidth)s from %(time)s") % {"bandwidth": format_kbps(kbps), "time": _when(at)} for at, kbps in steps)


def _frame(*, kind: str, caption: str, start: int, end: int, interval: int, now: int | None, peak_bps: float,
           traffic: dict[str, list] | None, lines: list[dict[str, Any]], summary: str, notes: list[str],
           markers: list[dict[str, int]] | None = None) -> dict[str, Any]:
    unit, factor = selectors.display_unit(peak_bps or None)
    return {
        "kind": kind, "caption": caption, "start": start, "end": end, "interval": interval, "now": now,
        "tz": {"name": ranges.zone().key, "label": ranges.zone_label(end),
               "abbreviations": ranges.zone_abbreviations(start, end)},
        "unit": {"name": unit, "factor": factor},
        "traffic": traffic, "lines": lines, "markers": markers or [], "summary": summary, "notes": notes,
        "texts": {
            "time": _("Time"), "inbound": _("Inbound"), "outbound": _("Outbound"), "rateAxis": _("Rate"),
            "now": _("Now"), "change": _("Change by the policy"), "decided": _("decided %(time)s"),
        },
    }


# -- the preview --------------------------------------------------------------------------------


def planned_steps(*, tenant: Tenant, service: Service, now: datetime,
                  start_kbps: int | None) -> list[tuple[int, int | None]]:
    """The bandwidth the service's active policies plan from ``now`` to the horizon, as steps
    [(at, kbps), …], the first at ``now`` with ``start_kbps`` (None: not known). A change that is
    due and not yet run (the next tick runs it) counts from now; one that changes nothing is left out."""
    at_now = int(now.timestamp())
    steps: list[tuple[int, int | None]] = [(at_now, start_kbps)]
    if tenant.automation_paused:
        return steps
    rows = (Occurrence.objects.filter(policy__tenant=tenant, policy__service=service, policy__state=PolicyState.ACTIVE,
                                      state=OccurrenceState.PLANNED, due_at__lt=now + HORIZON)
            .order_by("due_at", "id").values_list("due_at", "kbps"))
    for due_at, kbps in rows:
        at = max(at_now, int(due_at.timestamp()))
        if steps[-1][0] == at:
            steps[-1] = (at, kbps)  # two changes at one moment: the later row is the one that stays
        elif steps[-1][1] != kbps:
            steps.append((at, kbps))
    # A change and its change back at one moment leave the size as it was: no step there.
    merged = steps[:1]
    for step in steps[1:]:
        if merged[-1][1] != step[1]:
            merged.append(step)
    return merged


def preview_chart(*, tenant: Tenant, service: Service, now: datetime) -> dict[str, Any]:
    """The service's last 7 days of traffic with the bandwidth in force, and the next 7 days of
    planned bandwidth. When IES cannot give the traffic, the planned line is drawn alone and the
    notes say why."""
    now_s = int(now.timestamp())
    trange = ranges.parse(PREVIEW_PAST, now=now_s)
    end = now_s + int(HORIZON.total_seconds())
    notes: list[str] = []
    chart = None
    if service.gone_at is not None:
        notes.append(_("No traffic is shown: the service was deleted."))
    elif not service.cloud_vpn_name:
        notes.append(_("No traffic is shown: the service has no connection yet."))
    else:
        try:
            chart = selectors.chart_for_connection(tenant=tenant, service=service, trange=trange,
                                                   width=selectors.DEFAULT_WIDTH, now=now_s)
        except (IESError, TenantNotConfigured) as exc:
            trouble = describe(exc)
            notes.append(" ".join([_("No traffic is shown: it could not be read from IES."), trouble.problem,
                                   trouble.advice]))
    traffic: dict[str, list] | None = None
    lines: list[dict[str, Any]] = []
    peak = 0.0
    in_force_now = service.bandwidth_kbps
    if chart is not None:
        notes.extend(chart.notes)
        if chart.empty and not chart.not_found:
            notes.append(_("No traffic is shown: IES has no values for the last 7 days yet."))
        if not chart.empty:
            traffic = {"t": chart.shown_times.astype(np.int64).tolist(), "in": _ints(chart.shown_in),
                       "out": _ints(chart.shown_out)}
        peak = max(chart.figures.inbound.peak_bps or 0, chart.figures.outbound.peak_bps or 0)
        steps = [[max(s.at, trange.start), s.kbps] for s in chart.steps]
        if steps:
            lines.append({"key": "in_force", "label": _("Bandwidth in force"), "steps": steps, "until": now_s,
                          "dashed": False})
            in_force_now = in_force_now or chart.steps[-1].kbps
    planned = planned_steps(tenant=tenant, service=service, now=now, start_kbps=in_force_now)
    lines.append({"key": "planned", "label": _("Planned bandwidth"), "steps": [list(s) for s in planned],
                  "until": end, "dashed": True})
    kbps_drawn = [s[1] for line in lines for s in line["steps"] if s[1]]
    peak = max([peak, *(k * 1000 for k in kbps_drawn)])
    if tenant.automation_paused:
        summary = _("The tenant’s automation is stopped: no planned change runs until policies run again.")
    elif len(planned) > 1:
        summary = _("Planned: %(changes)s.") % {"changes": _changes_text(planned[1:])}
    else:
        summary = _("No change is planned in the next 7 days.")
    return _frame(kind="preview", caption=_("Traffic of the last 7 days and the bandwidth planned for the next 7"),
                  start=trange.start, end=end, interval=trange.interval, now=now_s, peak_bps=peak, traffic=traffic,
                  lines=lines, summary=summary, notes=notes)


# -- the backtest -------------------------------------------------------------------------------


def backtest_chart(outcome: Outcome, *, rate_in: np.ndarray, rate_out: np.ndarray, fixed_kbps: int) -> dict[str, Any]:
    """The traffic a backtest replayed (``rate_in``/``rate_out``, bit/s, one value per bucket of
    ``outcome.times``), today's fixed size, the size the policy would have set, and its changes."""
    interval = outcome.interval
    times = np.asarray(outcome.times, dtype=np.int64)
    if len(times) == 0:
        start = end = 0
        traffic = None
    else:
        start, end = int(times[0]), int(times[-1]) + interval
        shown_t, (shown_in, shown_out) = minmax_downsample(times, [rate_in, rate_out], BACKTEST_COLUMNS,
                                                           lo=start, hi=end, step=interval)
        traffic = {"t": shown_t.tolist(), "in": _ints(shown_in), "out": _ints(shown_out)}
    bandwidth = np.asarray(outcome.bandwidth_bps, dtype=np.int64)
    # The policy's size per bucket changes a few times at most: its steps carry it exactly.
    moved = np.flatnonzero(np.r_[True, bandwidth[1:] != bandwidth[:-1]]) if len(bandwidth) else np.array([], int)
    policy_steps = [[int(times[i]), int(bandwidth[i]) // 1000] for i in moved]
    lines: list[dict[str, Any]] = [
        {"key": "fixed", "label": _("Today’s size"), "steps": [[start, fixed_kbps]], "until": end, "dashed": True},
        {"key": "policy", "label": _("With the policy"), "steps": policy_steps, "until": end, "dashed": False},
    ]
    markers = [{"at": c.effective_at, "decided_at": c.decided_at, "kbps": c.kbps}
               for c in outcome.changes if start <= c.effective_at < end]
    with np.errstate(invalid="ignore"):
        peaks = [float(np.nanmax(r)) for r in (rate_in, rate_out) if len(r) and not np.isnan(r).all()]
    peak = max([*peaks, fixed_kbps * 1000, int(bandwidth.max()) if len(bandwidth) else 0])
    changes = [(c.effective_at, c.kbps) for c in outcome.changes]
    if not changes:
        summary = _("With the policy, the bandwidth would have stayed at %(bandwidth)s.") % {
            "bandwidth": format_kbps(fixed_kbps)}
    else:
        listed = _changes_text(changes[:SUMMARY_CHANGES])
        if len(changes) > SUMMARY_CHANGES:
            listed = f"{listed} {_('and %(n)s more') % {'n': len(changes) - SUMMARY_CHANGES}}"
        summary = ngettext("With the policy, the bandwidth would have changed %(n)s time: %(changes)s.",
                           "With the policy, the bandwidth would have changed %(n)s times: %(changes)s.",
                           len(changes)) % {"n": len(changes), "changes": listed}
    return _frame(kind="backtest", caption=_("Traffic, today’s size, and the size the policy would have set"),
                  start=start, end=end, interval=interval, now=None, peak_bps=peak, traffic=traffic, lines=lines,
                  summary=summary, notes=[], markers=markers)
