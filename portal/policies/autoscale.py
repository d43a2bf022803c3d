"""Auto-scaling a connection's bandwidth on its sustained utilisation: the decision, and nothing else.

:func:`decide` looks at the traffic of the last minutes (rates in bit/s and the bandwidth in force
at each bucket, so that utilisation is always the traffic over the size that carried it) and says
whether to change the bandwidth now, to what, and why not when it does not. It reads no clock, no
database and no IES: the engine and the backtest (``backtest.py``) give it the same inputs, so what
a backtest shows is what the policy does.

A window's figure is its 95th percentile (interpolated) or its maximum, of the watched direction
or of the busier one at each bucket.

Safety rules, each a reason of its own:
- a window only counts when it is covered by traffic measured at the present size (after the last
  change took effect) for at least ``COVERAGE`` of its buckets;
- the cooldown after any change is never shorter than the time a change takes at IES (learned);
- scaling down never goes to a size at which the recent traffic would trigger a scale-up
  (hysteresis): the predicted figure must stay under the target (sized by steps: under the
  scale-up threshold);
- at most ``max_per_day`` and ``max_per_month`` changes;
- the size stays within the floor and ceiling, on the definition's steps.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

COVERAGE = 0.8  # share of a window's buckets that must have a value for the window to count


class Statistic(enum.StrEnum):
    P95 = "p95"
    MAX = "max"


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"
    EITHER = "either"


class Sizing(enum.StrEnum):
    STEP = "step"  # by a fixed amount
    TARGET = "target"  # to the size that brings the statistic to the target


@dataclass(frozen=True)
class AutoScale:
    floor_kbps: int
    ceiling_kbps: int
    up_above_pct: float = 80.0
    up_for_s: int = 15 * 60
    down_below_pct: float = 30.0
    down_for_s: int = 60 * 60
    statistic: Statistic = Statistic.P95
    direction: Direction = Direction.EITHER
    sizing: Sizing = Sizing.TARGET
    step_kbps: int = 10_000
    target_pct: float = 60.0
    cooldown_s: int = 30 * 60
    max_per_day: int = 6
    max_per_month: int = 60


def problems(policy: AutoScale, *, minimum_kbps: int, maximum_kbps: int, step_kbps: int) -> list[str]:
    """What makes the policy unsound, in the tenant's words; [] when it is sound."""
    found = []
    if not minimum_kbps <= policy.floor_kbps <= policy.ceiling_kbps <= maximum_kbps:
        found.append(_("The floor and the ceiling must lie between %(min)s and %(max)s kbit/s, the floor not above "
                       "the ceiling.") % {"min": minimum_kbps, "max": maximum_kbps})
    if policy.floor_kbps % step_kbps or policy.ceiling_kbps % step_kbps:
        found.append(_("The floor and the ceiling must be multiples of %(step)s kbit/s.") % {"step": step_kbps})
    if not 0 < policy.down_below_pct < policy.up_above_pct <= 100:
        found.append(_("Scale down below a utilisation lower than the one that scales up (for example 30 % and 80 %)."))
    if policy.sizing == Sizing.TARGET and not policy.down_below_pct < policy.target_pct < policy.up_above_pct:
        found.append(_("The target utilisation must lie between the two thresholds, or the policy would change "
                       "back and forth."))
    if policy.sizing == Sizing.STEP and (policy.step_kbps <= 0 or policy.step_kbps % step_kbps):
        found.append(_("The step must be a positive multiple of %(step)s kbit/s.") % {"step": step_kbps})
    if policy.up_for_s < 60 or policy.down_for_s < 60:
        found.append(_("A window lasts at least one minute."))
    if policy.down_for_s < policy.up_for_s:
        found.append(_("Scale down over a window at least as long as the one that scales up."))
    if policy.cooldown_s < 0 or policy.max_per_day < 1 or policy.max_per_month < policy.max_per_day:
        found.append(_("Allow at least one change a day, and no fewer a month than a day."))
    return found


class Reason(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    STEADY = "steady"  # neither window's condition holds
    NOT_ENOUGH_DATA = "not_enough_data"
    COOLDOWN = "cooldown"
    DAY_LIMIT = "day_limit"
    MONTH_LIMIT = "month_limit"
    AT_CEILING = "at_ceiling"
    AT_FLOOR = "at_floor"
    WOULD_FLAP = "would_flap"
    # The engine's, before any traffic is read (decide never gives them):
    AWAITING_APPROVAL = "awaiting_approval"
    CHANGE_IN_FLIGHT = "change_in_flight"
    NO_TRAFFIC = "no_traffic"  # IES did not answer for the traffic


@dataclass(frozen=True)
class Decision:
    reason: Reason
    kbps: int | None = None  # the new size, when the reason is UP or DOWN
    figure_pct: float | None = None  # the statistic of the window that decided, in percent

    @property
    def changes(self) -> bool:
        return self.kbps is not None


@dataclass(frozen=True)
class Traffic:
    """The last buckets up to now, oldest first: rates in bit/s (NaN: no value) and the bandwidth
    in force at each (bit/s)."""

    interval: int
    rate_in: np.ndarray
    rate_out: np.ndarray
    bandwidth_bps: np.ndarray


def decide(policy: AutoScale, traffic: Traffic, *, current_kbps: int, since_change_s: float | None,
           learned_change_s: float, changes_today: int, changes_this_month: int,
           step_kbps: int) -> Decision:
    """Whether to change the bandwidth now (see the module's docstring for the rules).

    ``since_change_s``: how long ago the last change (by anyone) took effect; None: none known.
    ``traffic`` must end with the last closed bucket; buckets measured before the last change are
    ignored (their utilisation was of another size).
    """
    cooldown = max(policy.cooldown_s, learned_change_s)
    if since_change_s is not None and since_change_s < cooldown:
        return Decision(Reason.COOLDOWN)
    if changes_today >= policy.max_per_day:
        return Decision(Reason.DAY_LIMIT)
    if changes_this_month >= policy.max_per_month:
        return Decision(Reason.MONTH_LIMIT)
    current_bps = current_kbps * 1000
    rate = _rate(policy, traffic, current_bps, since_change_s)

    up = _statistic(policy, rate, window_buckets(policy.up_for_s, traffic.interval))
    if up is not None and up / current_bps * 100 > policy.up_above_pct:
        figure = up / current_bps * 100
        if current_kbps >= policy.ceiling_kbps:
            return Decision(Reason.AT_CEILING, figure_pct=figure)
        if policy.sizing == Sizing.STEP:
            wanted = current_kbps + policy.step_kbps
        else:
            wanted = _size_for(up, policy.target_pct, step_kbps)
        wanted = min(max(wanted, current_kbps + step_kbps), policy.ceiling_kbps)
        return Decision(Reason.UP, kbps=wanted, figure_pct=figure)

    down = _statistic(policy, rate, window_buckets(policy.down_for_s, traffic.interval))
    if down is None or up is None:
        return Decision(Reason.NOT_ENOUGH_DATA)
    figure = down / current_bps * 100
    if figure >= policy.down_below_pct:
        return Decision(Reason.STEADY, figure_pct=figure)
    if current_kbps <= policy.floor_kbps:
        return Decision(Reason.AT_FLOOR, figure_pct=figure)
    if policy.sizing == Sizing.STEP:
        wanted = current_kbps - policy.step_kbps
    else:
        wanted = _size_for(down, policy.target_pct, step_kbps)
    wanted = max(min(wanted, current_kbps - step_kbps), policy.floor_kbps)
    # Hysteresis: the smaller size must carry what the up-window saw without calling for a scale-up.
    limit = policy.target_pct if policy.sizing == Sizing.TARGET else policy.up_above_pct
    while wanted < current_kbps and max(up, down) / (wanted * 1000) * 100 >= limit:
        wanted += step_kbps
    if wanted >= current_kbps:
        return Decision(Reason.WOULD_FLAP, figure_pct=figure)
    return Decision(Reason.DOWN, kbps=wanted, figure_pct=figure)


def window_buckets(seconds: int, interval: int) -> int:
    return max(1, seconds // interval)


def _rate(policy: AutoScale, traffic: Traffic, current_bps: int, since_change_s: float | None) -> np.ndarray:
    """The rate the policy watches, NaN where it was not carried by the present size."""
    if policy.direction == Direction.INBOUND:
        rate = traffic.rate_in.astype(float)
    elif policy.direction == Direction.OUTBOUND:
        rate = traffic.rate_out.astype(float)
    else:
        rate = np.fmax(traffic.rate_in, traffic.rate_out).astype(float)
    rate = rate.copy()
    rate[traffic.bandwidth_bps != current_bps] = np.nan
    if since_change_s is not None:
        measured_since = len(rate) - int(since_change_s // traffic.interval)
        rate[: max(0, measured_since)] = np.nan
    return rate


def _statistic(policy: AutoScale, rate: np.ndarray, buckets: int) -> float | None:
    """The statistic of the last ``buckets`` of ``rate``; None when too few of them have a value."""
    window = rate[-buckets:]
    values = window[~np.isnan(window)]
    if not len(values) or len(values) < COVERAGE * buckets:
        return None
    if policy.statistic == Statistic.MAX:
        return float(values.max())
    # Interpolated (as monitoring systems compute it): over a short window, the nearest rank would be
    # the maximum, and one busy minute in fifteen would decide alone. Written out (numpy's "linear"
    # method): np.percentile's overhead dominated a backtest's tens of thousands of decisions.
    ordered = np.sort(values)
    h = (len(ordered) - 1) * 0.95
    lo = int(h)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo]))


def _size_for(rate_bps: float, target_pct: float, step_kbps: int) -> int:
    """The size (kbit/s, on the steps) at which ``rate_bps`` is at most ``target_pct`` of it: rounded
    up either way, so a size is never chosen below what the traffic needs."""
    exact = rate_bps / (target_pct / 100) / 1000
    return max(step_kbps, math.ceil(exact / step_kbps) * step_kbps)
