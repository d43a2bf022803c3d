"""The backtest replays a policy over past traffic exactly as the engine would decide it."""

from zoneinfo import ZoneInfo

import numpy as np

from portal.policies import backtest
from portal.policies.autoscale import AutoScale, Reason

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = 60
T0 = 1_796_400_000 // 86_400 * 86_400 - 8 * 3600  # a local midnight in Shanghai
POLICY = AutoScale(floor_kbps=20_000, ceiling_kbps=500_000, up_above_pct=80, up_for_s=15 * MINUTE,
                   down_below_pct=30, down_for_s=60 * MINUTE, target_pct=60, cooldown_s=30 * MINUTE,
                   max_per_day=6, max_per_month=60)


def day_of(rate_mbps):
    """Per-minute rates (bit/s), inbound only."""
    rate = np.asarray(rate_mbps, dtype=float) * 1e6
    times = T0 + np.arange(len(rate), dtype=np.int64) * MINUTE
    return times, rate, np.where(np.isnan(rate), np.nan, 0.0)


def replay(rate_mbps, *, fixed_kbps=100_000, learned=600, policy=POLICY):
    times, rate_in, rate_out = day_of(rate_mbps)
    return backtest.run(policy, times=times, rate_in=rate_in, rate_out=rate_out, interval=MINUTE,
                        fixed_kbps=fixed_kbps, learned_change_s=learned, step_kbps=1000, tz=SHANGHAI)


def test_a_busy_afternoon_is_scaled_up_then_down_again():
    # 6 h quiet at 20 Mbit/s, 4 h busy at 95 Mbit/s, 6 h quiet again, on a 100 Mbit/s line.
    outcome = replay([20] * 360 + [95] * 240 + [20] * 360)
    kinds = [c.decision.reason for c in outcome.changes]
    assert kinds[0] == Reason.DOWN  # quiet for an hour: down to where 20 Mbit/s is 60 %
    assert Reason.UP in kinds and kinds[-1] == Reason.DOWN
    up = next(c for c in outcome.changes if c.decision.reason == Reason.UP)
    # It took effect the learned 10 minutes after it was decided, and no change overlapped another.
    assert up.effective_at - up.decided_at == 600
    for first, second in zip(outcome.changes, outcome.changes[1:], strict=False):
        assert second.decided_at >= first.effective_at + POLICY.cooldown_s
    # The bandwidth line follows the changes.
    i = int((up.effective_at - T0) // MINUTE)
    assert outcome.bandwidth_bps[i] == up.kbps * 1000 and outcome.bandwidth_bps[i - 1] != up.kbps * 1000
    # Cheaper than the fixed 100 Mbit/s overall; busy only until the scale-up took effect.
    assert outcome.kbps_hours_saved > 0
    assert outcome.busy_s_fixed == 240 * MINUTE
    assert 0 < outcome.busy_s_policy < outcome.busy_s_fixed


def test_steady_traffic_at_a_good_size_changes_nothing():
    outcome = replay([50] * 600)
    assert outcome.changes == [] and outcome.kbps_hours_saved == 0
    assert (outcome.bandwidth_bps == 100_000_000).all()


def test_the_day_limit_holds_in_the_replay():
    # Alternating 2 h busy / 2 h quiet for a day, on a policy allowed 2 changes a day.
    policy = AutoScale(**{**POLICY.__dict__, "max_per_day": 2})
    outcome = replay(([95] * 120 + [5] * 120) * 6, policy=policy)
    per_day = {}
    for change in outcome.changes:
        day = (change.decided_at - T0) // 86_400
        per_day[day] = per_day.get(day, 0) + 1
    assert per_day and max(per_day.values()) <= 2


def test_gaps_are_neither_busy_nor_billed_as_used():
    rate = [np.nan] * 120 + [90] * 60
    outcome = replay(rate)
    assert outcome.kbps_hours_fixed == 100_000 * 1.0  # one hour of values at 100 Mbit/s
    assert outcome.busy_s_fixed == 60 * MINUTE
    # Decided once 80 % of the 15-minute window had values (12 minutes), not on the gap before it.
    assert [(c.decided_at - T0, c.kbps) for c in outcome.changes] == [(132 * MINUTE, 150_000)]
