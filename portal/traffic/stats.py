"""Figures beside a chart (peak, p95, average, time above 80 %) and the bandwidth it suggests.

Computed on every value of the range at the chart's timedim and indicator, before downsampling:
a figure must not depend on how wide the browser window is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ies_client import models as ies
from portal.core.units import format_bits_per_second, format_kbps

BUSY_UTILISATION = 80.0  # percent: above this, a line is busy (and bursts get dropped)
HEADROOM = 0.7  # the suggestion keeps the p95 at 70 % of the bandwidth: 30 % headroom
# The contract's bounds of a bandwidth (docs/ies-simulator.md): used when the definition says nothing.
BANDWIDTH_MIN_KBPS = 1000
BANDWIDTH_MAX_KBPS = 10_000_000
BANDWIDTH_STEP_KBPS = 1000


@dataclass(frozen=True)
class DirectionFigures:
    peak_bps: float | None
    peak_at: int | None
    p95_bps: float | None
    avg_bps: float | None
    peak_util: float | None


@dataclass(frozen=True)
class Figures:
    inbound: DirectionFigures
    outbound: DirectionFigures
    samples: int  # buckets with a value
    busy_seconds: int  # time with either direction above BUSY_UTILISATION
    covered_seconds: int  # time with a value at all
    interval: int

    @property
    def busy_share(self) -> float | None:
        return self.busy_seconds / self.covered_seconds * 100 if self.covered_seconds else None

    @property
    def p95_bps(self) -> float | None:
        """The busier direction's p95: what a bandwidth must carry."""
        values = [d.p95_bps for d in (self.inbound, self.outbound) if d.p95_bps is not None]
        return max(values) if values else None

    @property
    def busier(self) -> ies.Direction:
        if (self.inbound.p95_bps or 0) > (self.outbound.p95_bps or 0):
            return ies.Direction.INBOUND
        return ies.Direction.OUTBOUND


def percentile_nearest_rank(values: np.ndarray, q: float) -> float | None:
    """The q-th percentile by nearest rank (how burstable bandwidth is billed): a value that occurred."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    ordered = np.sort(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _direction(t: np.ndarray, rate: np.ndarray, util: np.ndarray) -> DirectionFigures:
    if np.isnan(rate).all():
        return DirectionFigures(None, None, None, None, None)
    peak_index = int(np.nanargmax(rate))
    return DirectionFigures(
        peak_bps=float(rate[peak_index]),
        peak_at=int(t[peak_index]),
        p95_bps=percentile_nearest_rank(rate, 95),
        avg_bps=float(np.nanmean(rate)),
        peak_util=None if np.isnan(util).all() else float(np.nanmax(util)),
    )


def utilisation(rate: np.ndarray, bandwidth_bps: np.ndarray) -> np.ndarray:
    """Rate ÷ bandwidth in force × 100, as IES defines utilisation (NaN where either is unknown)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = rate / bandwidth_bps * 100
    out[~np.isfinite(out)] = np.nan
    return out


def figures(t: np.ndarray, rate_in: np.ndarray, rate_out: np.ndarray, bandwidth_bps: np.ndarray,
            interval: int) -> Figures:
    util_in = utilisation(rate_in, bandwidth_bps)
    util_out = utilisation(rate_out, bandwidth_bps)
    has_value = ~(np.isnan(rate_in) & np.isnan(rate_out))
    busy = (np.nan_to_num(util_in) > BUSY_UTILISATION) | (np.nan_to_num(util_out) > BUSY_UTILISATION)
    samples = int(has_value.sum())
    return Figures(
        inbound=_direction(t, rate_in, util_in),
        outbound=_direction(t, rate_out, util_out),
        samples=samples,
        busy_seconds=int(busy.sum()) * interval,
        covered_seconds=samples * interval,
        interval=interval,
    )


@dataclass(frozen=True)
class Suggestion:
    kbps: int
    direction: str  # verb for the action: "up", "down" or "same"
    explanation: str


def suggest_bandwidth(figs: Figures, *, current_kbps: int | None, minimum: int | None = None,
                      maximum: int | None = None, step: int | None = None) -> Suggestion | None:
    """The p95 of the busier direction with 30 % headroom, rounded up to the bandwidth step.

    Why p95 and not the peak: a few minutes of burst should not set the price of a month; why
    headroom: at 70 % a line still absorbs a burst without dropping packets.
    """
    p95 = figs.p95_bps
    if p95 is None or figs.samples == 0:
        return None
    minimum = minimum or BANDWIDTH_MIN_KBPS
    maximum = maximum or BANDWIDTH_MAX_KBPS
    step = step or BANDWIDTH_STEP_KBPS
    needed_kbps = p95 / 1000 / HEADROOM
    # Rounded to a millionth of a kbit/s first: 42 Mbit/s ÷ 0.7 is 60 Mbit/s, not 60.000…01.
    kbps = math.ceil(round(needed_kbps, 6) / step) * step
    kbps = min(max(kbps, minimum), maximum)
    direction_name = _("inbound") if figs.busier == ies.Direction.INBOUND else _("outbound")
    parts = [
        _("95 %% of the time shown, %(direction)s traffic ran at or below %(p95)s.")
        % {"direction": direction_name, "p95": format_bits_per_second(p95)},
        _("With 30 %% headroom (÷ 0.7), so that bursts still fit, the line needs %(needed)s; rounded up to "
          "the next step of %(step)s that is %(kbps)s.")
        % {"needed": format_bits_per_second(needed_kbps * 1000), "step": format_kbps(step), "kbps": format_kbps(kbps)},
    ]
    if kbps == maximum and needed_kbps > maximum:
        parts.append(_("That is the largest bandwidth this service can have."))
    if current_kbps is None:
        verb = "up"
    elif kbps > current_kbps:
        verb = "up"
        parts.append(_("The current %(current)s is too small for that.") % {"current": format_kbps(current_kbps)})
    elif kbps < current_kbps:
        verb = "down"
        parts.append(_("The current %(current)s is more than that needs: you could scale down.")
                     % {"current": format_kbps(current_kbps)})
    else:
        verb = "same"
        parts.append(_("That is the current bandwidth: no change needed."))
    return Suggestion(kbps=kbps, direction=verb, explanation=" ".join(parts))


def format_duration(seconds: int) -> str:
    """3 d 4 h, 2 h 13 min, 45 min."""
    minutes = seconds // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": mins}
    return ngettext("%(minutes)d min", "%(minutes)d min", mins) % {"minutes": mins}
