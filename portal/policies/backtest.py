"""What an auto-scale policy would have done over a connection's own past traffic.

The past is replayed bucket by bucket: at each evaluation the policy's :func:`autoscale.decide` is
asked exactly as the engine asks it, with the traffic over the bandwidth the policy itself would
have set by then; a change it decides takes effect after the time a change takes at IES (learned),
and no other is decided meanwhile. The figures compare that with keeping today's size: time spent
above the busy threshold and bandwidth-hours.

What it cannot know: traffic that a saturated line did not carry. Where the real line was full,
the replay sees only what got through, so a backtest understates the need for a larger size there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from portal.policies import autoscale

BUSY_PCT = 80.0


@dataclass(frozen=True)
class Change:
    decided_at: int  # Unix time
    effective_at: int
    kbps: int
    decision: autoscale.Decision


@dataclass(frozen=True)
class Outcome:
    interval: int
    times: np.ndarray
    bandwidth_bps: np.ndarray  # the size the policy would have had at each bucket
    changes: list[Change] = field(default_factory=list)
    busy_s_policy: int = 0  # time with either direction above BUSY_PCT, with the policy
    busy_s_fixed: int = 0  # the same at today's fixed size
    kbps_hours_policy: float = 0.0
    kbps_hours_fixed: float = 0.0

    @property
    def kbps_hours_saved(self) -> float:
        """Positive: the policy would have used less bandwidth than the fixed size."""
        return self.kbps_hours_fixed - self.kbps_hours_policy


def run(policy: autoscale.AutoScale, *, times: np.ndarray, rate_in: np.ndarray, rate_out: np.ndarray,
        interval: int, fixed_kbps: int, learned_change_s: float, step_kbps: int, tz: ZoneInfo,
        every_s: int = 60) -> Outcome:
    """Replay ``policy`` over the buckets at ``times`` (Unix times, every ``interval`` seconds), starting
    at ``fixed_kbps``, deciding every ``every_s`` seconds (never more often than a bucket)."""
    n = len(times)
    bandwidth = np.full(n, fixed_kbps * 1000, dtype=np.int64)
    history = max(autoscale.window_buckets(policy.up_for_s, interval), autoscale.window_buckets(policy.down_for_s, interval))
    every = max(1, every_s // interval)
    current = fixed_kbps
    pending: Change | None = None
    last_effective: int | None = None
    changes: list[Change] = []
    days: dict[tuple[int, ...], int] = {}
    for i in range(n):
        now = int(times[i]) + interval  # the end of bucket i: it has just closed
        if pending is not None and pending.effective_at <= int(times[i]):
            current, last_effective, pending = pending.kbps, pending.effective_at, None
        bandwidth[i] = current * 1000
        if pending is not None or i % every:
            continue
        lo = max(0, i + 1 - history)
        traffic = autoscale.Traffic(interval=interval, rate_in=rate_in[lo:i + 1], rate_out=rate_out[lo:i + 1],
                                    bandwidth_bps=bandwidth[lo:i + 1])
        today, month = _counts(days, now, tz)
        decision = autoscale.decide(
            policy, traffic, current_kbps=current,
            since_change_s=None if last_effective is None else now - last_effective,
            learned_change_s=learned_change_s, changes_today=today, changes_this_month=month,
            step_kbps=step_kbps)
        if decision.kbps is not None:
            pending = Change(decided_at=now, effective_at=now + int(learned_change_s), kbps=decision.kbps,
                             decision=decision)
            changes.append(pending)
            local = datetime.fromtimestamp(now, tz)
            for key in ((local.year, local.month, local.day), (local.year, local.month)):
                days[key] = days.get(key, 0) + 1
    fixed = np.full(n, fixed_kbps * 1000, dtype=np.int64)
    hours = interval / 3600
    covered = ~(np.isnan(rate_in) & np.isnan(rate_out))
    return Outcome(
        interval=interval, times=times, bandwidth_bps=bandwidth, changes=changes,
        busy_s_policy=_busy(rate_in, rate_out, bandwidth) * interval,
        busy_s_fixed=_busy(rate_in, rate_out, fixed) * interval,
        kbps_hours_policy=float(bandwidth[covered].sum()) / 1000 * hours,
        kbps_hours_fixed=float(fixed[covered].sum()) / 1000 * hours,
    )


def _counts(days: dict[tuple[int, ...], int], now: int, tz: ZoneInfo) -> tuple[int, int]:
    """Changes decided on the day and in the month (in ``tz``) of ``now``; ``days`` counts the
    changes decided so far by local (year, month, day) and (year, month)."""
    local = datetime.fromtimestamp(now, tz)
    return days.get((local.year, local.month, local.day), 0), days.get((local.year, local.month), 0)


def _busy(rate_in: np.ndarray, rate_out: np.ndarray, bandwidth_bps: np.ndarray) -> int:
    """Buckets with either direction above BUSY_PCT of ``bandwidth_bps``."""
    with np.errstate(invalid="ignore"):
        busy = (rate_in / bandwidth_bps * 100 > BUSY_PCT) | (rate_out / bandwidth_bps * 100 > BUSY_PCT)
    return int(busy.sum())
