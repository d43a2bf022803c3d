"""Auto-scale decisions: thresholds held for a window, sizing, hysteresis, cooldown, limits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.policies.autoscale import (
    AutoScale,
    Direction,
    Reason,
    Sizing,
    Statistic,
    Traffic,
    decide,
    problems,
)

MINUTE = 60
STEP = 1000  # kbit/s: the definition's step


def traffic(util_pct, *, kbps=100_000, out_pct=None, minutes=None):
    """Per-minute traffic at ``util_pct`` of ``kbps`` (a number or a list, oldest first)."""
    util = np.asarray(util_pct if np.ndim(util_pct) else [util_pct] * (minutes or 120), dtype=float)
    out = np.asarray(out_pct if out_pct is not None else util * 0.5, dtype=float)
    return Traffic(interval=MINUTE, rate_in=util / 100 * kbps * 1000, rate_out=out / 100 * kbps * 1000,
                   bandwidth_bps=np.full(len(util), kbps * 1000))


POLICY = AutoScale(floor_kbps=20_000, ceiling_kbps=500_000, up_above_pct=80, up_for_s=15 * MINUTE,
                   down_below_pct=30, down_for_s=60 * MINUTE, target_pct=60, cooldown_s=30 * MINUTE)


def run(policy=POLICY, t=None, *, kbps=100_000, since=None, learned=600, today=0, month=0):
    return decide(policy, t, current_kbps=kbps, since_change_s=since, learned_change_s=learned,
                  changes_today=today, changes_this_month=month, step_kbps=STEP)


def test_sustained_high_utilisation_scales_up_to_the_size_that_meets_the_target():
    decision = run(t=traffic([50] * 105 + [90] * 15))
    assert decision.reason == Reason.UP
    # p95 of 90 % of 100 Mbit/s = 90 Mbit/s; at 60 % that needs 150 Mbit/s.
    assert decision.kbps == 150_000 and decision.figure_pct == pytest.approx(90)


def test_one_busy_minute_in_the_window_is_not_sustained_but_ten_are():
    assert run(t=traffic([50] * 119 + [99])).reason == Reason.STEADY  # the window's p95: 64.7 %
    assert run(t=traffic([50] * 110 + [95] * 10)).reason == Reason.UP


def test_max_is_stricter_than_p95():
    t = traffic([50] * 119 + [99])
    assert run(AutoScale(**{**POLICY.__dict__, "statistic": Statistic.MAX}), t).reason == Reason.UP


def test_direction_chooses_what_is_watched():
    t = traffic([20] * 120, out_pct=[20] * 100 + [90] * 20)
    assert run(AutoScale(**{**POLICY.__dict__, "direction": Direction.INBOUND}), t).reason != Reason.UP
    assert run(AutoScale(**{**POLICY.__dict__, "direction": Direction.OUTBOUND}), t).reason == Reason.UP
    assert run(t=t).reason == Reason.UP  # either


def test_step_sizing_adds_a_step_and_stops_at_the_ceiling():
    stepper = AutoScale(**{**POLICY.__dict__, "sizing": Sizing.STEP, "step_kbps": 50_000})
    assert run(stepper, traffic(95)).kbps == 150_000
    assert run(stepper, traffic(95, kbps=480_000), kbps=480_000).kbps == 500_000
    assert run(stepper, traffic(95, kbps=500_000), kbps=500_000).reason == Reason.AT_CEILING


def test_sustained_low_utilisation_scales_down_but_not_below_the_floor():
    decision = run(t=traffic(10))
    # p95 10 Mbit/s at 60 % → 17 Mbit/s, under the floor: the floor.
    assert decision.reason == Reason.DOWN and decision.kbps == 20_000
    assert run(t=traffic(10, kbps=20_000), kbps=20_000).reason == Reason.AT_FLOOR


def test_scaling_down_never_goes_where_the_recent_traffic_would_scale_up_again():
    stepper = AutoScale(**{**POLICY.__dict__, "sizing": Sizing.STEP, "step_kbps": 90_000})
    # 25 % of 100 Mbit/s = 25 Mbit/s; a step down to 10 Mbit/s would be 250 %: it stops where 25 Mbit/s
    # stays under 80 %, i.e. 32 Mbit/s, above the floor.
    decision = run(stepper, traffic(25))
    assert decision.reason == Reason.DOWN and decision.kbps == 32_000
    assert 25_000 / decision.kbps * 100 < stepper.up_above_pct


def test_cooldown_is_never_shorter_than_a_change_takes_at_ies():
    t = traffic(95)
    assert run(t=t, since=20 * MINUTE).reason == Reason.COOLDOWN  # the policy's 30 min
    assert run(t=t, since=40 * MINUTE, learned=45 * MINUTE).reason == Reason.COOLDOWN  # IES's 45 min
    assert run(t=t, since=50 * MINUTE, learned=45 * MINUTE).reason == Reason.UP


def test_limits_per_day_and_per_month():
    t = traffic(95)
    assert run(t=t, today=6).reason == Reason.DAY_LIMIT
    assert run(t=t, today=1, month=60).reason == Reason.MONTH_LIMIT


def test_traffic_measured_at_another_size_does_not_count():
    t = traffic([95] * 120)
    # The size changed 5 minutes ago: 5 minutes do not cover 80 % of the 15-minute window.
    assert run(t=t, since=5 * MINUTE, learned=0, ).reason == Reason.COOLDOWN
    relaxed = AutoScale(**{**POLICY.__dict__, "cooldown_s": 0})
    assert run(relaxed, t, since=5 * MINUTE, learned=0).reason == Reason.NOT_ENOUGH_DATA
    assert run(relaxed, t, since=13 * MINUTE, learned=0).reason == Reason.UP
    # Buckets carried by another bandwidth are ignored whatever the clock says.
    mixed = Traffic(interval=MINUTE, rate_in=t.rate_in, rate_out=t.rate_out,
                    bandwidth_bps=np.array([50_000_000] * 110 + [100_000_000] * 10))
    assert run(relaxed, mixed).reason == Reason.NOT_ENOUGH_DATA


def test_gaps_in_the_data_are_not_taken_for_quiet():
    util = np.full(120, np.nan)
    util[-10:] = 5
    assert run(t=traffic(util)).reason == Reason.NOT_ENOUGH_DATA


@pytest.mark.parametrize("change, words", [
    ({"floor_kbps": 600_000}, "floor and the ceiling"),
    ({"floor_kbps": 20_500}, "multiples"),
    ({"down_below_pct": 85}, "lower than the one that scales up"),
    ({"target_pct": 90}, "between the two thresholds"),
    ({"down_for_s": 5 * MINUTE}, "at least as long"),
    ({"max_per_day": 0}, "at least one change a day"),
])
def test_an_unsound_policy_is_refused_in_words(change, words):
    found = problems(AutoScale(**{**POLICY.__dict__, **change}), minimum_kbps=1000, maximum_kbps=10_000_000,
                     step_kbps=STEP)
    assert any(words in p for p in found), found


def test_the_default_policy_is_sound():
    assert problems(POLICY, minimum_kbps=1000, maximum_kbps=10_000_000, step_kbps=STEP) == []


@settings(max_examples=200, deadline=None)
@given(util=st.lists(st.floats(0, 150), min_size=1, max_size=150), kbps=st.integers(20, 500).map(lambda m: m * 1000),
       sizing=st.sampled_from(list(Sizing)), statistic=st.sampled_from(list(Statistic)))
def test_a_decision_always_stays_within_bounds_and_on_steps(util, kbps, sizing, statistic):
    policy = AutoScale(**{**POLICY.__dict__, "sizing": sizing, "statistic": statistic, "step_kbps": 25_000})
    decision = run(policy, traffic(util, kbps=kbps), kbps=kbps)
    if decision.kbps is not None:
        assert policy.floor_kbps <= decision.kbps <= policy.ceiling_kbps
        assert decision.kbps % STEP == 0
        assert decision.kbps != kbps
        assert (decision.reason == Reason.UP) == (decision.kbps > kbps)
    if decision.reason == Reason.DOWN:
        # Hysteresis: at the new size, the traffic that was seen would not scale it up again.
        assert run(policy, traffic(np.asarray(util) * kbps / decision.kbps, kbps=decision.kbps),
                   kbps=decision.kbps).reason != Reason.UP
