"""Min/max downsampling: fewer points, every peak kept (unit and property tests, no Django)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.traffic.downsample import minmax_downsample

STEP = 60


@st.composite
def series_and_width(draw):
    """Traffic-like columns: noise from a drawn seed, drawn bursts, drawn stretches without values."""
    n = draw(st.integers(min_value=0, max_value=3000))
    start = draw(st.integers(min_value=0, max_value=10**6)) * STEP
    t = start + STEP * np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    columns = []
    for _ in range(2):
        column = np.floor(rng.uniform(0, 1e8, n))
        for at in draw(st.lists(st.integers(min_value=0, max_value=max(n - 1, 0)), max_size=4)) if n else []:
            column[at] = draw(st.sampled_from([0.0, 1e10, 5e9 + 1]))  # a one-sample burst or drop
        share = draw(st.sampled_from([0.0, 0.0, 0.1, 0.9, 1.0]))
        column[rng.random(n) < share] = np.nan
        if n and draw(st.booleans()):
            a = draw(st.integers(min_value=0, max_value=n - 1))
            column[a:a + draw(st.integers(min_value=1, max_value=n))] = np.nan
        columns.append(column)
    width = draw(st.integers(min_value=1, max_value=400))
    return t, columns, width


def _buckets(t, width, lo, hi):
    return np.clip((t - lo) * width // (hi - lo), 0, width - 1)


@settings(max_examples=200, deadline=None)
@given(series_and_width())
def test_every_column_keeps_its_maximum_and_minimum(case):
    t, columns, width = case
    out_t, out_cols = minmax_downsample(t, columns, width, step=STEP)
    for column, out in zip(columns, out_cols, strict=True):
        if np.isnan(column).all():
            assert np.isnan(out).all()
        else:
            assert np.nanmax(out) == np.nanmax(column)
            assert np.nanmin(out) == np.nanmin(column)


@settings(max_examples=200, deadline=None)
@given(series_and_width())
def test_times_ascend_and_there_are_at_most_two_points_per_pixel_plus_gaps(case):
    t, columns, width = case
    out_t, out_cols = minmax_downsample(t, columns, width, step=STEP)
    assert np.all(np.diff(out_t) > 0)
    assert all(len(c) == len(out_t) for c in out_cols)
    real = ~np.all([np.isnan(c) for c in out_cols], axis=0) if out_cols else np.zeros(0, bool)
    assert real.sum() <= 2 * width
    # Every time is a time of the input, or a gap marker one step after one.
    known = set(t.tolist())
    assert all(x in known or (x - STEP) in known for x in out_t.tolist())


@settings(max_examples=200, deadline=None)
@given(series_and_width())
def test_every_pixel_column_keeps_its_own_peak(case):
    """Not only the global maximum: each bucket's maximum survives (a short burst anywhere shows)."""
    t, columns, width = case
    valid = ~np.all([np.isnan(c) for c in columns], axis=0)
    if valid.sum() == 0:
        return
    lo, hi = int(t[0]), int(t[-1]) + STEP
    out_t, out_cols = minmax_downsample(t, columns, width, lo=lo, hi=hi, step=STEP)
    in_bucket = _buckets(t, width, lo, hi)
    out_bucket = _buckets(out_t, width, lo, hi)
    for column, out in zip(columns, out_cols, strict=True):
        for b in np.unique(in_bucket[valid & ~np.isnan(column)]):
            expected = np.nanmax(column[in_bucket == b])
            got = out[(out_bucket == b) & ~np.isnan(out)]
            assert expected in got


@settings(max_examples=100, deadline=None)
@given(series_and_width())
def test_every_value_shown_was_measured(case):
    t, columns, width = case
    _, out_cols = minmax_downsample(t, columns, width, step=STEP)
    for column, out in zip(columns, out_cols, strict=True):
        measured = set(column[~np.isnan(column)].tolist())
        assert set(out[~np.isnan(out)].tolist()) <= measured


@settings(max_examples=100, deadline=None)
@given(series_and_width())
def test_a_series_that_fits_the_width_passes_unchanged(case):
    t, columns, width = case
    valid = ~np.all([np.isnan(c) for c in columns], axis=0)
    if valid.sum() > 2 * width:
        return
    out_t, out_cols = minmax_downsample(t, columns, width, step=STEP)
    real = ~np.all([np.isnan(c) for c in out_cols], axis=0)
    assert out_t[real].tolist() == t[valid].tolist()
    for column, out in zip(columns, out_cols, strict=True):
        np.testing.assert_array_equal(out[real], column[valid])


def test_a_one_sample_burst_survives_where_lttb_could_drop_it():
    t = np.arange(0, 43_200 * STEP, STEP, dtype=np.int64)
    quiet = np.full(len(t), 1e6)
    quiet[31_337] = 9.5e7  # one minute near line rate in a month
    out_t, (out,) = minmax_downsample(t, [quiet], 300, step=STEP)
    assert len(out_t) <= 600
    assert out.max() == 9.5e7
    # It sits within one pixel column of the time it happened.
    assert abs(out_t[int(np.argmax(out))] - t[31_337]) <= (t[-1] - t[0]) / 300


def test_min_and_max_keep_their_order_in_time():
    t = np.arange(10, dtype=np.int64) * STEP
    rising = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=float)
    falling = rising[::-1].copy()
    out_t, (up, down) = minmax_downsample(t, [rising, falling], 1, step=STEP)
    assert out_t.tolist() == [0, 9 * STEP]
    assert up.tolist() == [0, 9] and down.tolist() == [9, 0]


def test_a_stretch_without_values_breaks_the_line():
    t = np.arange(10, dtype=np.int64) * STEP
    values = np.array([1, 2, np.nan, np.nan, np.nan, 3, 4, 5, 6, 7], dtype=float)
    out_t, (out,) = minmax_downsample(t, [values], 100, step=STEP)
    assert out_t.tolist() == [0, 60, 120, 300, 360, 420, 480, 540]
    assert np.isnan(out[2]) and not np.isnan(out[[0, 1, 3, 4]]).any()


def test_empty_input_gives_empty_output():
    out_t, (out,) = minmax_downsample(np.zeros(0, dtype=np.int64), [np.zeros(0)], 100)
    assert len(out_t) == 0 and len(out) == 0


def test_columns_must_match_the_times():
    with pytest.raises(ValueError):
        minmax_downsample(np.arange(3), [np.zeros(2)], 10)
