"""Fewer points for a chart without losing a peak: min and max per pixel column.

A month by the minute is 43,200 values per series, while a chart is about a thousand pixels wide.
Sending every value costs bandwidth and drawing time and shows nothing more. We split the time axis
into one bucket per pixel column and keep, for each series, the smallest and the largest value of
the bucket, in the order they happened: two points per pixel, and every burst survives. (LTTB keeps
the shape but may drop a one-sample burst, which on a traffic chart is the thing people look for.)

All series share one time axis (what uPlot wants): each bucket yields the time of its first and of
its last sample; each series puts its earlier extreme at the first time and the later extreme at the
second. The value is exact, its time off by less than one pixel column. A bucket with one or two
samples passes through unchanged, so a range that fits the width is not altered at all.

Values are float64 with NaN for "no sample" (before the connection existed, after it was deleted).
A stretch with no sample in any series becomes a gap: a NaN point is placed after the last sample
before it, so the line breaks instead of bridging it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["minmax_downsample"]


def minmax_downsample(
    t: np.ndarray,
    columns: Sequence[np.ndarray],
    width: int,
    *,
    lo: int | None = None,
    hi: int | None = None,
    step: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Downsample ``columns`` (each aligned with ``t``) to at most ``2 * width`` points, plus gap markers.

    Args:
        t: sample times, ascending (int64 seconds).
        columns: value arrays of the same length (float64; NaN = no sample).
        width: pixel columns of the chart: the number of buckets.
        lo, hi: the time span the chart shows (default: the span of ``t``); buckets divide it evenly,
            so they line up with the chart's pixels.
        step: the sampling interval; a gap marker sits one step after the sample before a gap.

    Returns:
        ``(times, [values per column])``; NaN values stand for "no line here".
    """
    t = np.asarray(t, dtype=np.int64)
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    if any(len(c) != len(t) for c in cols):
        raise ValueError("every column must have one value per time")
    width = max(1, int(width))
    if len(t) == 0:
        return t.copy(), [c.copy() for c in cols]

    valid = np.zeros(len(t), dtype=bool)
    for c in cols:
        valid |= ~np.isnan(c)
    # Gaps are judged on the full series: an empty stretch between two kept samples breaks the line.
    missing_before = np.cumsum(~valid)
    index = np.flatnonzero(valid)
    if len(index) == 0:
        return t[:0].copy(), [c[:0].copy() for c in cols]
    tv = t[index]
    vals = [c[index] for c in cols]

    if len(index) <= 2 * width:
        out_idx = index
        out_t = tv
        out_vals = vals
    else:
        first = int(lo) if lo is not None else int(tv[0])
        last = int(hi) if hi is not None else int(tv[-1]) + 1
        span = max(1, last - first)
        bucket = np.clip((tv - first) * width // span, 0, width - 1)
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(tv)] - 1  # last position of each bucket
        single = starts == ends
        positions = np.arange(len(tv))
        # Slot A: the bucket's first sample time; slot B: its last (absent for a one-sample bucket).
        slot_a = starts
        slot_b = ends[~single]
        out_pos = np.sort(np.concatenate([slot_a, slot_b]))
        out_t = tv[out_pos]
        out_idx = index[out_pos]
        out_vals = []
        seg_of_out = np.searchsorted(starts, out_pos, side="right") - 1
        is_first = out_pos == starts[seg_of_out]
        for v in vals:
            big = len(tv)
            # NaN-safe extremes per bucket (fmax/fmin ignore NaN unless all are NaN).
            vmax = np.fmax.reduceat(v, starts)
            vmin = np.fmin.reduceat(v, starts)
            at_max = np.where(v == np.repeat(vmax, ends - starts + 1), positions, big)
            at_min = np.where(v == np.repeat(vmin, ends - starts + 1), positions, big)
            pos_max = np.minimum.reduceat(at_max, starts)
            pos_min = np.minimum.reduceat(at_min, starts)
            max_first = pos_max <= pos_min
            early = np.where(max_first, vmax, vmin)[seg_of_out]
            late = np.where(max_first, vmin, vmax)[seg_of_out]
            # A one-sample bucket has only slot A, and its value is that sample.
            out = np.where(is_first, np.where(single[seg_of_out], vmax[seg_of_out], early), late)
            out_vals.append(out)

    # Gap markers: wherever samples are missing between two kept points, put a NaN point.
    if len(out_idx) > 1:
        gap = missing_before[out_idx[1:]] - missing_before[out_idx[:-1]] > 0
        if gap.any():
            where = np.flatnonzero(gap)
            gap_step = int(step) if step else 1
            marker_t = np.minimum(out_t[where] + gap_step, out_t[where + 1] - 1)
            # A marker must fall strictly between its neighbours; when they are adjacent there is
            # no gap to show at this resolution.
            ok = marker_t > out_t[where]
            where, marker_t = where[ok], marker_t[ok]
            out_t = np.insert(out_t, where + 1, marker_t)
            out_vals = [np.insert(v, where + 1, np.nan) for v in out_vals]
    return out_t, out_vals
