"""The weekly calendar: wall-clock windows in the tenant's zone, DST-correct, holidays, overlaps."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.policies.weekly import Holiday, WeeklyCalendar, Window, changes, planned_at, problems

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = frozenset(range(5))


def office(tz=BERLIN, holidays=()):
    """Mon–Fri 08:00–20:00 at 200 Mbit/s, else 50 Mbit/s."""
    return WeeklyCalendar(windows=(Window(WEEKDAYS, time(8), time(20), 200_000),), default_kbps=50_000, tz=tz,
                          holidays=tuple(holidays))


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


def test_inside_and_outside_the_office_window():
    cal = office()
    assert planned_at(cal, local(BERLIN, 2026, 12, 7, 7, 59)) == 50_000  # a Monday
    assert planned_at(cal, local(BERLIN, 2026, 12, 7, 8, 0)) == 200_000
    assert planned_at(cal, local(BERLIN, 2026, 12, 7, 19, 59)) == 200_000
    assert planned_at(cal, local(BERLIN, 2026, 12, 7, 20, 0)) == 50_000
    assert planned_at(cal, local(BERLIN, 2026, 12, 12, 12, 0)) == 50_000  # Saturday


def test_it_reads_an_instant_in_the_calendars_own_zone():
    cal = office()
    # 07:30 UTC on a winter Monday is 08:30 in Berlin.
    assert planned_at(cal, datetime(2026, 12, 7, 7, 30, tzinfo=UTC)) == 200_000
    assert planned_at(cal, datetime(2026, 12, 7, 6, 30, tzinfo=UTC)) == 50_000


def test_the_window_keeps_to_the_office_clock_across_summer_time():
    cal = office()
    week = changes(cal, local(BERLIN, 2026, 3, 23), local(BERLIN, 2026, 4, 4))  # spans 29 March (clocks go forward)
    starts = [at.astimezone(BERLIN) for at, kbps in week[1:] if kbps == 200_000]
    assert [s.time() for s in starts] == [time(8)] * 10
    # The same local hour is another UTC hour before and after the change.
    assert {s.astimezone(UTC).hour for s in starts} == {7, 6}


def test_a_window_in_the_hour_that_is_skipped_starts_an_hour_later_on_the_new_clock():
    cal = WeeklyCalendar(windows=(Window(frozenset({6}), time(2, 30), time(4), 100_000),), default_kbps=10_000, tz=BERLIN)
    plan = changes(cal, local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30))
    assert [(at.astimezone(BERLIN).strftime("%H:%M %Z"), kbps) for at, kbps in plan[1:]] == [
        ("03:30 CEST", 100_000), ("04:00 CEST", 10_000)]


def test_a_window_in_the_hour_that_repeats_starts_at_its_first_occurrence():
    cal = WeeklyCalendar(windows=(Window(frozenset({6}), time(2, 30), time(5), 100_000),), default_kbps=10_000, tz=BERLIN)
    plan = changes(cal, local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26))
    assert [(at.astimezone(BERLIN).strftime("%H:%M %Z"), kbps) for at, kbps in plan[1:]] == [
        ("02:30 CEST", 100_000), ("05:00 CET", 10_000)]


def test_a_window_across_midnight_belongs_to_the_day_it_starts():
    night = WeeklyCalendar(windows=(Window(frozenset({4}), time(22), time(6), 500_000),), default_kbps=50_000, tz=SHANGHAI)
    assert planned_at(night, local(SHANGHAI, 2026, 12, 11, 23, 0)) == 500_000  # Friday night
    assert planned_at(night, local(SHANGHAI, 2026, 12, 12, 5, 59)) == 500_000  # Saturday early
    assert planned_at(night, local(SHANGHAI, 2026, 12, 12, 6, 0)) == 50_000
    assert planned_at(night, local(SHANGHAI, 2026, 12, 12, 23, 0)) == 50_000  # Saturday night: not Friday's


def test_a_window_from_sunday_into_monday_wraps_the_week():
    cal = WeeklyCalendar(windows=(Window(frozenset({6}), time(23), time(1), 300_000),), default_kbps=50_000, tz=SHANGHAI)
    assert planned_at(cal, local(SHANGHAI, 2026, 12, 14, 0, 30)) == 300_000  # Monday 00:30


def test_a_holiday_takes_the_whole_day_and_cancels_its_windows():
    cal = office(holidays=[Holiday(date(2026, 12, 25)), Holiday(date(2026, 12, 31), 20_000)])
    assert planned_at(cal, local(BERLIN, 2026, 12, 25, 12)) == 50_000  # a Friday, but Christmas
    assert planned_at(cal, local(BERLIN, 2026, 12, 31, 12)) == 20_000
    assert planned_at(cal, local(BERLIN, 2026, 12, 24, 12)) == 200_000
    plan = changes(cal, local(BERLIN, 2026, 12, 24), local(BERLIN, 2026, 12, 26))
    assert [(at.astimezone(BERLIN).strftime("%d %H:%M"), kbps) for at, kbps in plan] == [
        ("24 00:00", 50_000), ("24 08:00", 200_000), ("24 20:00", 50_000)]


def test_a_holiday_cuts_a_night_window_at_midnight():
    night = WeeklyCalendar(windows=(Window(frozenset({3}), time(22), time(6), 500_000),), default_kbps=50_000,
                           tz=SHANGHAI, holidays=(Holiday(date(2026, 12, 11), 10_000),))
    plan = changes(night, local(SHANGHAI, 2026, 12, 10, 12), local(SHANGHAI, 2026, 12, 12, 12))
    assert [(at.astimezone(SHANGHAI).strftime("%d %H:%M"), kbps) for at, kbps in plan] == [
        ("10 12:00", 50_000), ("10 22:00", 500_000), ("11 00:00", 10_000), ("12 00:00", 50_000)]


@pytest.mark.parametrize("windows, expected", [
    ((Window(WEEKDAYS, time(8), time(20), 1), Window(frozenset({2}), time(19), time(21), 2)), "overlap"),
    ((Window(frozenset({6}), time(22), time(2), 1), Window(frozenset({0}), time(1), time(3), 2)), "overlap"),
    ((Window(frozenset(), time(8), time(9), 1),), "no day"),
    ((Window(frozenset({7}), time(8), time(9), 1),), "Monday to Sunday"),
    ((Window(frozenset({1}), time(8, 0, 30), time(9), 1),), "whole minutes"),
])
def test_an_ambiguous_calendar_is_refused_in_words(windows, expected):
    found = problems(WeeklyCalendar(windows=windows, default_kbps=1, tz=BERLIN))
    assert any(expected in p for p in found), found


def test_adjacent_windows_and_a_whole_week_are_sound():
    days = (Window(WEEKDAYS, time(8), time(20), 1), Window(WEEKDAYS, time(20), time(8), 2),
            Window(frozenset({5, 6}), time(8), time(8), 3))
    assert problems(WeeklyCalendar(windows=days[:2], default_kbps=9, tz=BERLIN)) == []
    assert problems(WeeklyCalendar(windows=(Window(frozenset(range(7)), time(0), time(0), 5),), default_kbps=9,
                                   tz=BERLIN)) == []
    assert any("twice" in p for p in problems(WeeklyCalendar(
        windows=(), default_kbps=9, tz=BERLIN, holidays=(Holiday(date(2026, 1, 1)), Holiday(date(2026, 1, 1), 5)))))


ZONES = st.sampled_from([BERLIN, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")])
MINUTES = st.integers(0, 24 * 4 - 1).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def calendars(draw):
    tz = draw(ZONES)
    windows = []
    for kbps in range(1, draw(st.integers(0, 4)) + 1):
        window = Window(frozenset(draw(st.sets(st.integers(0, 6), min_size=1))), draw(MINUTES), draw(MINUTES), kbps * 1000)
        if not problems(WeeklyCalendar(windows=(*windows, window), default_kbps=0, tz=tz)):
            windows.append(window)
    holidays = tuple(Holiday(date(2026, 3, 1) + timedelta(days=d), draw(st.sampled_from([None, 99_000])))
                     for d in sorted(draw(st.sets(st.integers(0, 300), max_size=3))))
    return WeeklyCalendar(windows=tuple(windows), default_kbps=500, tz=tz, holidays=holidays)


@settings(max_examples=60, deadline=None)
@given(cal=calendars(), start_minute=st.integers(0, 300 * 24 * 60), probes=st.lists(st.integers(0, 9 * 24 * 60), max_size=40))
def test_the_changes_agree_with_what_is_planned_at_every_moment(cal, start_minute, probes):
    start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=start_minute)
    end = start + timedelta(days=9)
    plan = changes(cal, start, end)
    assert plan[0][0] == start
    assert all(a < b for (a, _), (b, _) in zip(plan, plan[1:], strict=False))
    assert all(x != y for (_, x), (_, y) in zip(plan, plan[1:], strict=False)), "a change that changes nothing"
    for minute in probes:
        at = start + timedelta(minutes=minute)
        expected = [kbps for when, kbps in plan if when <= at][-1]
        assert planned_at(cal, at) == expected
