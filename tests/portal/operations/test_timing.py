"""The poll schedule, the give-up deadline, learned expectations and the progress estimate: pure
functions, checked table by table (no database, no IES)."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.operations import timing
from portal.operations.models import Operation, OperationKind, OperationState
from portal.operations.presenters import present

T0 = datetime(2026, 5, 7, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("elapsed", "expected", "delay"), [
    # Early: a tenth of the expected time, at most 30 s, never past the start of the dense window.
    (0, 600, 30.0),
    (0, 100, 10.0),
    (75, 100, 5.0),       # 80 s is 5 s away: wait only until then
    (79, 100, 1.5),       # dense step (1.5 % of 100 s) beats the 1 s left
    (0, 1, 1.0),          # the floor: one second
    (0, 0, 1.0),          # no expectation: treated as one second
    # Around the expected end: 1.5 % of it, between 1 and 2 s (a 10-minute operation's end is seen
    # within 2 s, 95 % within 3 s).
    (35, 40, 1.0),
    (50, 60, 1.0),
    (80, 100, 1.5),
    (149, 100, 1.5),
    (500, 600, 2.0),
    (9, 10, 1.0),
    # Past 1.5× the expectation: back off, at most 30 s.
    (150, 100, 1.5),
    (200, 100, 6.5),
    (10_000, 100, 30.0),
])
def test_next_poll_delay(elapsed, expected, delay):
    assert timing.next_poll_delay(elapsed, expected) == pytest.approx(delay)


@pytest.mark.parametrize("expected", [1, 10, 100, 600, 3600])
def test_the_schedule_never_sleeps_past_the_dense_window_nor_longer_than_30_s(expected):
    elapsed = 0.0
    while elapsed < 0.8 * expected:
        delay = timing.next_poll_delay(elapsed, expected)
        assert 1.0 <= delay <= 30.0
        elapsed += delay
    dense = min(timing.DENSE_MAX_S, max(1.0, expected * timing.DENSE_FRACTION))
    assert elapsed <= 0.8 * expected + dense, "the first look inside the dense window is at most one dense step late"


@pytest.mark.parametrize(("expected", "factor", "seconds"), [
    (600, 3, 1800), (1, 3, 3), (0, 3, 3), (100, 1.5, 150),
])
def test_give_up_after_is_a_multiple_of_the_expectation(settings, expected, factor, seconds):
    settings.OPERATION_STUCK_FACTOR = factor
    assert timing.give_up_after(expected) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("durations", "median", "p90"), [
    ([60], 60, 60),
    ([60, 120], 90, 120),
    ([30, 10, 20], 20, 30),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5.5, 9),
    (list(range(1, 21)), 10.5, 18),
    ([5, 5, 5, 1000], 5, 1000),
])
def test_expectation_from_past_durations(durations, median, p90):
    learned = timing.expectation_from(durations)
    assert (learned.median_s, learned.p90_s, learned.learned, learned.samples) == (median, p90, True, len(durations))


def test_without_history_the_default_applies(settings):
    settings.OPERATION_DEFAULT_SECONDS = 600
    assert timing.expectation_from([]) == timing.Expectation(median_s=600, p90_s=720, learned=False)


@pytest.mark.parametrize(("elapsed", "expected", "p90", "percent", "late"), [
    (0, 100, 120, 0, False),
    (50, 100, 120, 45, False),
    (100, 100, 120, 90, False),
    (120, 100, 120, 92, False),   # 90 + 9 × (1 − 1/1.4)
    (121, 100, 120, 92, True),    # past p90: "taking longer than usual"
    (200, 100, 120, 96, True),
    (100_000, 100, 120, 98, True),  # creeps towards 99 %, never claims done
    (-5, 100, 120, 0, False),     # a clock a little behind: not negative
])
def test_estimate_progress(elapsed, expected, p90, percent, late):
    progress = timing.estimate_progress(started_at=T0, now=T0 + timedelta(seconds=elapsed), expected_s=expected,
                                        p90_s=p90)
    assert (progress.percent, progress.late) == (percent, late)
    assert progress.elapsed_s == max(0, elapsed)
    assert progress.expected_end == T0 + timedelta(seconds=expected)


def test_an_operation_not_yet_submitted_is_at_zero():
    progress = timing.estimate_progress(started_at=None, now=T0, expected_s=100, p90_s=120)
    assert progress == timing.Progress(percent=0, elapsed_s=0.0, expected_end=None, late=False)


def _op(state, kind=OperationKind.MODIFY, **fields) -> Operation:
    return Operation(state=state, kind=kind, created_at=T0, **fields)


@pytest.mark.parametrize(("op", "now", "percent", "elapsed", "polling", "poll_seconds"), [
    (_op(OperationState.QUEUED), T0 + timedelta(seconds=3), 0, 3, True, 2),
    (_op(OperationState.PROCESSING, submitted_at=T0, expected_seconds=100, expected_p90_seconds=120),
     T0 + timedelta(seconds=50), 45, 50, True, 2),
    (_op(OperationState.PROCESSING, submitted_at=T0, expected_seconds=100, expected_p90_seconds=120),
     T0 + timedelta(seconds=80), 72, 80, True, 1),  # near the expected end: every second
    (_op(OperationState.SUCCEEDED, submitted_at=T0, finished_at=T0 + timedelta(seconds=90)),
     T0 + timedelta(hours=1), 100, 90, False, 2),
    (_op(OperationState.FAILED, submitted_at=T0, finished_at=T0 + timedelta(seconds=30)),
     T0 + timedelta(hours=1), 0, 30, False, 2),
])
def test_present(op, now, percent, elapsed, polling, poll_seconds):
    view = present(op, now=now)
    assert (view.percent, view.elapsed_s, view.polling, view.poll_seconds) == (percent, elapsed, polling, poll_seconds)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.9, "0:59"), (61, "1:01"), (3600, "60:00")])
def test_elapsed_text(seconds, text):
    view = present(_op(OperationState.SUCCEEDED, submitted_at=T0, finished_at=T0 + timedelta(seconds=seconds)),
                   now=T0)
    assert view.elapsed_text == text
