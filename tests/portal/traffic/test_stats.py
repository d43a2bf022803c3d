"""Figures beside the chart and the suggested bandwidth (no IES involved)."""

import numpy as np
import pytest

from portal.traffic import stats

MINUTE = 60


def figures(rate_in, rate_out, bandwidth_bps=100e6):
    t = np.arange(len(rate_in), dtype=np.int64) * MINUTE
    return stats.figures(t, np.asarray(rate_in, float), np.asarray(rate_out, float),
                         np.full(len(rate_in), bandwidth_bps), MINUTE)


def test_p95_is_a_value_that_occurred_by_nearest_rank():
    values = np.arange(1, 101, dtype=float)  # 1 … 100
    assert stats.percentile_nearest_rank(values, 95) == 95.0
    assert stats.percentile_nearest_rank(np.array([5.0, np.nan]), 95) == 5.0
    assert stats.percentile_nearest_rank(np.array([np.nan]), 95) is None


def test_figures_of_both_directions():
    rate_out = [10e6] * 90 + [90e6] * 10
    f = figures([1e6] * 100, rate_out)
    assert f.outbound.peak_bps == 90e6 and f.outbound.peak_at == 90 * MINUTE
    assert f.outbound.p95_bps == 90e6 and f.outbound.avg_bps == pytest.approx(18e6)
    assert f.outbound.peak_util == pytest.approx(90.0)
    assert f.busy_seconds == 10 * MINUTE and f.busy_share == pytest.approx(10.0)
    assert f.p95_bps == 90e6 and f.busier == "outbound"


def test_no_values_no_figures():
    f = figures([np.nan] * 5, [np.nan] * 5)
    assert f.samples == 0 and f.inbound.peak_bps is None and f.busy_share is None
    assert stats.suggest_bandwidth(f, current_kbps=1000) is None


@pytest.mark.parametrize(("p95_bps", "current", "kbps", "direction"), [
    (42.7e6, 80000, 61000, "down"),        # 42.7 / 0.7 = 61.0 Mbit/s → 61 Mbit/s
    (42.0e6, 60000, 60000, "same"),        # exactly 60 Mbit/s: already right
    (70.1e6, 80000, 101000, "up"),         # 100.14… → rounded up, never down
    (100.0, 20000, 1000, "down"),          # the smallest bandwidth there is
    (9e9, 10_000_000, 10_000_000, "same"),  # the largest there is
])
def test_the_suggestion_is_p95_with_headroom_rounded_up_to_the_step(p95_bps, current, kbps, direction):
    f = figures([p95_bps] * 100, [p95_bps / 2] * 100, bandwidth_bps=current * 1000)
    s = stats.suggest_bandwidth(f, current_kbps=current)
    assert (s.kbps, s.direction) == (kbps, direction)
    assert "÷ 0.7" in s.explanation and "inbound" in s.explanation


def test_the_definitions_bounds_and_step_apply():
    f = figures([42.7e6] * 10, [0.0] * 10)
    s = stats.suggest_bandwidth(f, current_kbps=None, minimum=2000, maximum=50000, step=5000)
    assert s.kbps == 50000 and "largest bandwidth" in s.explanation


@pytest.mark.parametrize(("seconds", "text"), [(45 * 60, "45 min"), (2 * 3600 + 13 * 60, "2 h 13 min"),
                                              (3 * 86400 + 4 * 3600, "3 d 4 h")])
def test_durations_read_like_people_write_them(seconds, text):
    assert stats.format_duration(seconds) == text
