"""Whether a traffic condition holds, in plain arrays (no Django): one value a minute, the newest
last, NaN where IES has no value. A level fires only when every minute of its window holds it (a
one-minute spike is no alert, and a missing minute proves nothing); it clears only when every minute
of the clearing window is back on the good side (hysteresis: the clear level is lower)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLEAR_MINUTES = 3  # a firing condition clears after this many good minutes (or its window, if shorter)


@dataclass(frozen=True)
class Verdict:
    level: str  # "" (nothing, or cleared), "warning", "critical"
    figure: float | None  # what the summary quotes: the lowest of a window held, the latest of a clear


def _tail(values: np.ndarray, minutes: int) -> np.ndarray | None:
    if minutes <= 0 or len(values) < minutes:
        return None
    tail = values[-minutes:]
    return None if np.isnan(tail).any() else tail


def utilisation(util: np.ndarray, *, current: str, window: int, warning: float | None, critical: float | None,
                clear: float | None) -> Verdict:
    """``util``: percent a minute. From nothing, the highest level whose threshold every minute of the
    window reached; firing, a higher level as soon as it holds, and cleared once every minute of the
    clearing window is below ``clear`` (the lower threshold when none is set)."""
    held = _tail(util, window)
    if held is not None:
        low = float(held.min())
        if critical is not None and low >= critical:
            return Verdict("critical", low)
        if not current and warning is not None and low >= warning:
            return Verdict("warning", low)
    if current:
        floor = clear if clear is not None else min(t for t in (warning, critical) if t is not None)
        recent = _tail(util, min(window, CLEAR_MINUTES))
        if recent is not None and float(recent.max()) < floor:
            return Verdict("", float(recent[-1]))
        if current == "critical" and held is not None and critical is not None and float(held.max()) < critical:
            return Verdict("warning", float(held.min()))  # eased off, not cleared: no new notice
    return Verdict(current, None)


def quiet(rate_kbps: np.ndarray, *, current: str, level: str, window: int, floor: float) -> Verdict:
    """``rate_kbps``: the busier direction a minute. Quiet once every minute of the window is below
    the floor; back once every minute of the clearing window is at or above it."""
    held = _tail(rate_kbps, window)
    if not current:
        if held is not None and float(held.max()) < floor:
            return Verdict(level, float(held.max()))
        return Verdict("", None)
    recent = _tail(rate_kbps, min(window, CLEAR_MINUTES))
    if recent is not None and float(recent.min()) >= floor:
        return Verdict("", float(recent[-1]))
    return Verdict(current, None)
