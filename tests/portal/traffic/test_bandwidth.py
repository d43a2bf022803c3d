"""The bandwidth in force, from the operation log and rate ÷ utilisation (no IES involved)."""

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ies_client.models import Operation
from portal.traffic import bandwidth_in_force as bandwidth
from portal.traffic.bandwidth_in_force import Step

HOUR = 3600


def probe(history, hours=48, start=0, seed=1):
    """Hourly max rate and utilisation of a line whose bandwidth follows ``history`` [(at, kbps)],
    rounded as IES rounds them (whole bit/s, utilisation floored to 0.01 %)."""
    rng = np.random.default_rng(seed)
    t = start + HOUR * np.arange(hours, dtype=np.int64)
    kbps = np.array([[k for at, k in history if at <= x][-1] for x in t], dtype=float)
    share = rng.uniform(0.02, 0.9, hours)
    rate_out = np.floor(share * kbps * 1000)
    rate_in = np.floor(rate_out * 0.6)
    util_out = np.floor(rate_out / (kbps * 1000) * 10000) / 100
    util_in = np.floor(rate_in / (kbps * 1000) * 10000) / 100
    return t, rate_in, rate_out, util_in, util_out


def close(got: int | None, expected: int) -> bool:
    """Exact below 1 Gbit/s; above, within one 1 Mbit/s step: two decimals of a percent cannot tell
    9,999 from 10,000 Mbit/s in every sample (the configured bandwidth settles the current stretch)."""
    return got == expected or (expected >= 1_000_000 and got is not None and abs(got - expected) <= 1000)


def steps_of(history, changes, *, hours=48, current=None, live=True, **kw):
    t, ri, ro, ui, uo = probe(history, hours)
    return bandwidth.steps(start=0, end=hours * HOUR, probe_times=t, probe_interval=HOUR, rate_in=ri, rate_out=ro,
                           util_in=ui, util_out=uo, changes=changes, current_kbps=current, live=live, **kw)


def test_a_constant_bandwidth_is_one_step():
    assert steps_of([(0, 60000)], changes=[]) == [Step(0, 60000)]


def test_change_times_come_from_the_log_and_values_from_the_data():
    history = [(0, 20000), (10 * HOUR + 720, 50000), (30 * HOUR + 1200, 80000)]
    got = steps_of(history, changes=[10 * HOUR + 720, 30 * HOUR + 1200])
    assert got == [Step(0, 20000), Step(10 * HOUR + 720, 50000), Step(30 * HOUR + 1200, 80000)]


def test_an_update_that_left_the_bandwidth_alone_is_no_step():
    assert steps_of([(0, 40000)], changes=[5 * HOUR, 20 * HOUR]) == [Step(0, 40000)]


def test_without_a_log_a_change_is_found_to_the_hour():
    history = [(0, 20000), (10 * HOUR + 720, 50000), (30 * HOUR + 1200, 80000)]
    got = steps_of(history, changes=None)
    assert [s.kbps for s in got] == [20000, 50000, 80000]
    assert got[1].at == 11 * HOUR and got[2].at == 31 * HOUR


def test_without_any_data_the_configured_bandwidth_holds():
    t = HOUR * np.arange(4)
    nan = np.full(4, np.nan)
    got = bandwidth.steps(start=0, end=4 * HOUR, probe_times=t, probe_interval=HOUR, rate_in=nan, rate_out=nan,
                          util_in=nan, util_out=nan, changes=None, current_kbps=70000, live=True)
    assert got == [Step(0, 70000)]


def test_change_times_are_the_ends_of_successful_updates():
    def op(kind, finished, result="success"):
        return Operation(operation_id="x", service_id="s", kind=kind, done=True, result=result,
                         finished_at=datetime.fromtimestamp(finished, UTC))

    ops = [op("Create", 100), op("Update", 500), op("Update", 900, "failed"), op("Update", 300), op("Delete", 1000)]
    assert bandwidth.change_times(ops) == [300, 500]


def test_a_bucket_with_a_change_gets_the_larger_bandwidth():
    s = [Step(0, 20000), Step(10 * HOUR + 720, 50000)]
    got = bandwidth.at_times(s, np.array([9 * HOUR, 10 * HOUR, 11 * HOUR]), HOUR)
    assert got.tolist() == [20e6, 50e6, 50e6]
    # Without a bucket width: the bandwidth at each instant.
    assert bandwidth.at_times(s, np.array([10 * HOUR]), 0).tolist() == [20e6]


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=10_000).map(lambda k: k * 1000),
       st.integers(min_value=1, max_value=10_000).map(lambda k: k * 1000),
       st.integers(min_value=6, max_value=40), st.integers(min_value=0, max_value=HOUR - 1),
       st.integers(min_value=0, max_value=2**31))
def test_any_pair_of_bandwidths_is_read_exactly(before, after, hour, second, seed):
    """From 1 Mbit/s to 10 Gbit/s: the buckets of a stretch together pin the value to the step."""
    at = hour * HOUR + second
    history = [(0, before), (at, after)]
    t, ri, ro, ui, uo = probe(history, 48, seed=seed)
    got = bandwidth.steps(start=0, end=48 * HOUR, probe_times=t, probe_interval=HOUR, rate_in=ri, rate_out=ro,
                          util_in=ui, util_out=uo, changes=[at], current_kbps=None, live=True)
    expected = [Step(0, before)] + ([Step(at, after)] if after != before else [])
    assert [s.at for s in got] == [s.at for s in expected] or len(got) == len(expected) == 1
    assert all(close(g.kbps, e.kbps) for g, e in zip(got, expected, strict=True))


@pytest.mark.parametrize("kbps", [1000, 60000, 2_500_000, 10_000_000])
def test_the_value_is_a_multiple_of_the_step(kbps):
    got = steps_of([(0, kbps)], changes=[], live=False)
    assert close(got[0].kbps, kbps)
    # With the configured bandwidth as the hint, the current stretch is exact at any size.
    assert steps_of([(0, kbps)], changes=[], current=kbps)[0].kbps == kbps


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=10_000).map(lambda k: k * 1000),
       st.floats(min_value=0.1, max_value=10).filter(lambda f: abs(f - 1) > 0.02),
       st.integers(min_value=6, max_value=40), st.integers(min_value=0, max_value=HOUR - 1),
       st.integers(min_value=0, max_value=2**31))
def test_without_a_log_a_change_is_found_and_nothing_else(before, factor, hour, second, seed):
    after = min(10_000_000, max(1000, round(before * factor / 1000) * 1000))
    if abs(after - before) <= before * 0.02:
        return
    at = hour * HOUR + second
    t, ri, ro, ui, uo = probe([(0, before), (at, after)], 48, seed=seed)
    got = bandwidth.steps(start=0, end=48 * HOUR, probe_times=t, probe_interval=HOUR, rate_in=ri, rate_out=ro,
                          util_in=ui, util_out=uo, changes=None, current_kbps=after, live=True)
    assert len(got) == 2 and close(got[0].kbps, before) and got[1].kbps == after  # the last: configured
    # At the first whole hour of the new value, or the one after when that hour was mixed.
    assert at <= got[1].at <= at + 2 * HOUR
