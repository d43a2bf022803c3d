"""The bandwidth in force over a chart's range: a step function, derived from what IES tells us.

IES has no "bandwidth history" call. Two sources tell us about it, and we use both:

* **When** it changed: the service's operation log (``list_operations``). A successful ``Update``
  ends at the moment the new bandwidth takes effect (``finished_at``), to the second. The log does
  not say *to what* in a structured way (``operation_content`` is free text for people), and an
  update may have changed only the name, so it gives candidate change times, not values.
* **What** it was: utilisation is rate ÷ bandwidth in force × 100, so bandwidth = rate × 100 ÷
  utilisation. We ask IES for the utilisation at a coarse timedim (an hour for minute charts: a few
  hundred values, cheap), take the rate of the same buckets from the chart's own data (aggregated
  as IES aggregates: the max of the maxima, …), and read each bucket as an *interval* of possible
  bandwidths, because IES rounds utilisation to two decimals: ``[rate·100/(u+ε), rate·100/(u−ε)]``.
  Intersecting the intervals of a whole stretch pins the value down to the definition's 1 Mbit/s
  step even where one bucket alone could not (at 5 % utilisation one bucket is only good to ±0.4 %).

Between two change times the bandwidth is constant; its value is the step inside the intersection
of that stretch's buckets (skipping the first minutes after a change: Huawei's console warns that
utilisation lags a change by a few minutes). An IES without the operations endpoint (or a deleted
service, whose log is gone) still gets steps: a change is then where the per-bucket estimate moves
to a new value and stays there, placed to the coarse bucket. The current value of a live service is
its configured bandwidth when the data cannot tell.

Precision: two decimals of a percent resolve about 1/10,000 of the bandwidth, so below 1 Gbit/s a
stretch is read exactly; above, a past stretch may be off by one 1 Mbit/s step (the current stretch
is exact: the service's configured bandwidth breaks the tie), and two stretches are taken as one
when one value fits both as well as any other (an update that left the bandwidth alone). A change
of a single step is seen where the utilisations of each stretch tell the two values apart, which
high-utilisation buckets do up to a few Gbit/s; on a 10 Gbit/s line it may not be.

Why not the ratio alone at the chart's own timedim? It would double the IES traffic of a cold chart
(utilisation per minute is as large as the rate), for a result the coarse buckets give as well.
Why not the log alone? It cannot say the old values, and some IES lack the endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ies_client import models as ies

UTIL_QUANTUM = 0.02  # percent: IES's two decimals, rounded or truncated, with room for averaging
MIN_UTIL = 0.5  # percent: below this a bucket says too little about the bandwidth
LAG_S = 600  # utilisation lags a change by a few minutes (Huawei's console says so)
PERSIST = 2  # without a log, a new value must hold for this many buckets to count as a change


@dataclass(frozen=True)
class Step:
    """From ``at`` (Unix seconds) the bandwidth is ``kbps`` (None: unknown)."""

    at: int
    kbps: int | None


def change_times(operations: Sequence[ies.Operation]) -> list[int]:
    """When successful updates took effect, ascending (all of them: a stretch that begins before
    the range still tells which coarse buckets before the range are clean)."""
    times = set()
    for op in operations:
        if op.kind == ies.OperationKind.UPDATE and op.succeeded and op.finished_at is not None:
            times.add(int(op.finished_at.timestamp()))
    return sorted(times)


def _bucket_bounds(rate_in: np.ndarray, rate_out: np.ndarray, util_in: np.ndarray,
                   util_out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per bucket, the interval of bandwidths (kbit/s) its rate and utilisation allow (NaN if none),
    and the rate and utilisation it was read from.

    The direction with the higher utilisation is used: its two decimals are the more precise.
    """
    use_out = np.nan_to_num(util_out, nan=-1) >= np.nan_to_num(util_in, nan=-1)
    rate = np.where(use_out, rate_out, rate_in)
    util = np.where(use_out, util_out, util_in)
    ok = (util >= MIN_UTIL) & (rate > 0) & ~np.isnan(util) & ~np.isnan(rate)
    lo = np.full(len(rate), np.nan)
    hi = np.full(len(rate), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo[ok] = rate[ok] * 100 / (util[ok] + UTIL_QUANTUM) / 1000
        hi[ok] = rate[ok] * 100 / (util[ok] - UTIL_QUANTUM) / 1000
    return lo, hi, rate, util


MAX_CANDIDATES = 400


def _best_fits(lo: np.ndarray, hi: np.ndarray, rate: np.ndarray, util: np.ndarray,
               step: int) -> tuple[np.ndarray, float] | None:
    """The step multiples inside every bucket's interval that reproduce the most utilisations
    exactly as IES writes them (two decimals, truncated or rounded), and the centre of the
    intersection; None when the buckets share no multiple or allow too many to score.

    The true bandwidth reproduces every bucket of a stretch, so it is always among the best.
    """
    top, bottom = float(np.min(hi)), float(np.max(lo))
    if bottom > top:
        return None
    first, last = int(-(-bottom // step) * step), int(top // step * step)
    if first > last or (last - first) // step + 1 > MAX_CANDIDATES:
        return None
    candidates = np.arange(first, last + 1, step, dtype=np.float64)
    predicted = rate[None, :] * 100 / (candidates[:, None] * 1000)
    floored = np.floor(predicted * 100 + 1e-9) / 100
    rounded = np.round(predicted, 2)
    score = np.maximum((np.abs(floored - util) < 1e-9).sum(axis=1), (np.abs(rounded - util) < 1e-9).sum(axis=1))
    return candidates[score == score.max()].astype(np.int64), (bottom + top) / 2


def _value(lo: np.ndarray, hi: np.ndarray, rate: np.ndarray, util: np.ndarray, step: int,
           hint: int | None = None) -> int | None:
    """The step multiple the buckets agree on, or the best guess when they disagree.

    Where several multiples fit every bucket (a 10 Gbit/s line read through two decimals of a
    percent), the one that reproduces the most utilisations exactly wins (``_best_fits``); the
    configured bandwidth ``hint`` wins any tie.
    """
    ok = ~np.isnan(lo) & ~np.isnan(hi)
    lo, hi, rate, util = lo[ok], hi[ok], rate[ok], util[ok]
    if len(lo) == 0:
        return None
    top, bottom = float(np.min(hi)), float(np.max(lo))
    centre = (bottom + top) / 2
    if bottom > top:
        # The buckets disagree (a noisy IES): the median of their centres.
        centre = float(np.median((lo + hi) / 2))
        return int(max(step, round(centre / step) * step))
    first, last = int(-(-bottom // step) * step), int(top // step * step)
    if first > last:  # no multiple inside: the nearest one
        return int(max(step, round(centre / step) * step))
    if (last - first) // step + 1 > MAX_CANDIDATES:
        return int(hint) if hint and first <= hint <= last else int(round(centre / step) * step)
    best, centre = _best_fits(lo, hi, rate, util, step) or (np.array([first], dtype=np.int64), centre)
    if hint is not None and int(hint) in best.tolist():
        return int(hint)
    return int(best[np.argmin(np.abs(best - centre))])


def steps(
    *,
    start: int,
    end: int,
    probe_times: np.ndarray,
    probe_interval: int,
    rate_in: np.ndarray,
    rate_out: np.ndarray,
    util_in: np.ndarray,
    util_out: np.ndarray,
    changes: Sequence[int] | None,
    current_kbps: int | None,
    live: bool,
    step_kbps: int = 1000,
) -> list[Step]:
    """The bandwidth in force over ``[start, end)`` as steps; the first at ``start``.

    ``probe_*``: rate and utilisation per coarse bucket (the same buckets for all four arrays).
    ``changes``: change times from the operation log, or None when there is no log to read.
    ``current_kbps``: the service's configured bandwidth now (the mirror's), if known.
    """
    lo, hi, rate, util = _bucket_bounds(rate_in, rate_out, util_in, util_out)
    t = np.asarray(probe_times, dtype=np.int64)
    known = changes is not None
    if changes is None:
        changes = _changes_from_estimates(t, lo, hi, step_kbps, start=start, end=end)
    changes = sorted(changes)
    inside = [c for c in changes if start < c < end]
    bounds = [start, *inside, end]
    masks: list[np.ndarray] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        # The whole stretch this bandwidth held for (it may begin before the range), and its buckets
        # that lie wholly inside it, past the lag after the change that began it.
        since = max((c for c in changes if c <= a), default=None) if known else (a if a != start else None)
        until = min((c for c in changes if c >= b), default=None) if known else (b if b != end else None)
        clean = np.ones(len(t), dtype=bool)
        # A change read off the data is placed at the first bucket of the new value: the bucket
        # before it may be mixed, and there is no lag to wait out.
        if since is not None:
            clean &= t >= since + (LAG_S if known else 0)
        if until is not None:
            clean &= t + probe_interval <= until - (0 if known else probe_interval)
        masks.append(clean & ~np.isnan(lo))
    # Two stretches whose buckets allow a common bandwidth are one (an update that did not touch
    # the bandwidth, on a line too fast to tell one step from the next): merge before reading values.
    i = 0
    while i + 1 < len(masks):
        if _agree(lo, hi, rate, util, masks[i], masks[i + 1], step_kbps):
            masks[i] = masks[i] | masks.pop(i + 1)
            bounds.pop(i + 1)
        else:
            i += 1
    values: list[int | None] = []
    for n, clean in enumerate(masks):
        hint = current_kbps if live and n == len(masks) - 1 else None
        values.append(_value(lo[clean], hi[clean], rate[clean], util[clean], step_kbps, hint))
    if live and current_kbps and values and (values[-1] is None):
        values[-1] = int(current_kbps)
    # Unknown stretches take a neighbour's value (the earlier one first): a line with a hole would
    # say "no bandwidth", which is never true of a live connection.
    for i in range(len(values)):
        if values[i] is None:
            values[i] = next((v for v in reversed(values[:i]) if v is not None),
                             next((v for v in values[i + 1:] if v is not None), None))
    if all(v is None for v in values) and current_kbps:
        values = [int(current_kbps)] * len(values)
    result: list[Step] = []
    for at, value in zip(bounds[:-1], values, strict=True):
        if result and result[-1].kbps == value:
            continue  # an update that did not touch the bandwidth
        result.append(Step(at, value))
    return result


def _agree(lo: np.ndarray, hi: np.ndarray, rate: np.ndarray, util: np.ndarray, first: np.ndarray,
           second: np.ndarray, step: int) -> bool:
    """Both stretches have buckets, and one bandwidth fits all of them: it lies in every bucket's
    interval and, where the intervals allow several step multiples, it is among the best fits of
    each stretch (so 2,314 and 2,313 Mbit/s, whose intervals overlap, stay two values)."""
    if not first.any() or not second.any():
        return False
    if float(max(lo[first].max(), lo[second].max())) > float(min(hi[first].min(), hi[second].min())):
        return False
    fits = [_best_fits(lo[m], hi[m], rate[m], util[m], step) for m in (first, second)]
    if fits[0] is None or fits[1] is None:
        return True  # too imprecise to tell apart: the overlap decides
    return bool(np.intersect1d(fits[0][0], fits[1][0]).size)


def _changes_from_estimates(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, step: int, *, start: int,
                            end: int) -> list[int]:
    """Without a log: where the buckets stop agreeing with the stretch so far, and the next ones
    agree among themselves (``PERSIST`` in a row): a change at the first of those.

    Agreement is overlap of the intervals of possible bandwidths, not equality of rounded guesses,
    so the imprecision of a 10 Gbit/s line's two-decimal utilisation never reads as a change.
    """
    changes: list[int] = []
    current: tuple[float, float] | None = None
    run: tuple[float, float] | None = None
    run_start = run_len = 0
    for i in np.flatnonzero(~np.isnan(lo)):
        a, b = float(lo[i]), float(hi[i])
        if current is None:
            current = (a, b)
            continue
        if a <= current[1] and b >= current[0]:
            current = (max(a, current[0]), min(b, current[1]))
            run, run_len = None, 0
            continue
        if run is not None and a <= run[1] and b >= run[0]:
            run, run_len = (max(a, run[0]), min(b, run[1])), run_len + 1
        else:
            run, run_start, run_len = (a, b), int(t[i]), 1
        if run_len >= PERSIST:
            if start < run_start < end:
                changes.append(run_start)
            current, run, run_len = run, None, 0
    return changes


def at_times(step_list: Sequence[Step], times: np.ndarray, interval: int = 0) -> np.ndarray:
    """The bandwidth in force for each bucket ``[t, t + interval)``, in bit/s (NaN where unknown).

    A bucket during which the bandwidth changed gets the largest bandwidth of the bucket: its
    maximum rate may have come after a raise, and a utilisation above 100 % would be an artefact.
    (traffic.js applies the same rule, so the chart and the CSV agree.)
    """
    times = np.asarray(times, dtype=np.int64)
    if not step_list:
        return np.full(len(times), np.nan)
    at = np.array([s.at for s in step_list], dtype=np.int64)
    bps = np.array([np.nan if s.kbps is None else s.kbps * 1000.0 for s in step_list])
    first = np.clip(np.searchsorted(at, times, side="right") - 1, 0, len(bps) - 1)
    out = bps[first]
    if interval and len(at) > 1:
        last = np.clip(np.searchsorted(at, times + interval, side="left") - 1, 0, len(bps) - 1)
        for i in np.flatnonzero(last > first):
            out[i] = np.nanmax(bps[first[i]:last[i] + 1])
    return out
