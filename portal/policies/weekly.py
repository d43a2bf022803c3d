"""A weekly bandwidth calendar: windows on weekdays, each with its bandwidth, the rest at a default
size, and holidays that take a whole day at a size of their own.

Times are the tenant's wall-clock times in its zone, so "Mon–Fri 08:00–20:00" means 08:00 on the
office's clock on both sides of a change of summer time. One rule decides what is planned at an
instant (:func:`planned_at`); the changes over a stretch of time (:func:`changes`) are found by
asking it at every boundary the calendar has, so the two can never disagree.

Where a wall-clock time does not exist (the hour skipped when clocks go forward), a window boundary
falls at the instant the clock would have shown it without the skip, i.e. an hour later on the new
clock; where it exists twice (the hour repeated when clocks go back), at its first occurrence. Both
are what :mod:`zoneinfo` gives for ``fold=0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


@dataclass(frozen=True)
class Window:
    """From ``start`` to ``end`` on each of ``days`` (0 Monday … 6 Sunday), at ``kbps``. An ``end``
    at or before ``start`` ends on the next day (22:00–06:00), an ``end`` equal to ``start`` a
    whole day later. The window belongs to the day it starts on."""

    days: frozenset[int]
    start: time
    end: time
    kbps: int

    @property
    def spans_midnight(self) -> bool:
        return self.end <= self.start

    def bounds_on(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants the window begins and ends when it starts on ``day``."""
        end_day = day + timedelta(days=1) if self.spans_midnight else day
        return _instant(day, self.start, tz), _instant(end_day, self.end, tz)

    def week_minutes(self) -> list[tuple[int, int]]:
        """The window's stretches in minutes from Monday 00:00, each within [0, a week + a day)."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        length = (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY
        return [(day * MINUTES_PER_DAY + start, day * MINUTES_PER_DAY + start + length) for day in sorted(self.days)]


@dataclass(frozen=True)
class Holiday:
    """A day (in the calendar's zone) planned at ``kbps`` from midnight to midnight; None: at the
    calendar's default size."""

    day: date
    kbps: int | None = None


@dataclass(frozen=True)
class WeeklyCalendar:
    windows: tuple[Window, ...]
    default_kbps: int
    tz: ZoneInfo
    holidays: tuple[Holiday, ...] = ()
    _by_day: dict[date, Holiday] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_day", {h.day: h for h in self.holidays})

    def holiday(self, day: date) -> Holiday | None:
        return self._by_day.get(day)


def _instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz)


def problems(calendar: WeeklyCalendar) -> list[str]:
    """What makes the calendar ambiguous or empty, in the tenant's words; [] when it is sound."""
    found: list[str] = []
    for window in calendar.windows:
        if not window.days:
            found.append(_("A window has no day of the week."))
        if any(day not in range(7) for day in window.days):
            found.append(_("A day of the week must be Monday to Sunday."))
        if window.start.second or window.end.second or window.start.microsecond or window.end.microsecond:
            found.append(_("Windows start and end on whole minutes."))
    stretches = [stretch for w in calendar.windows for stretch in w.week_minutes()]
    # A stretch may run past Sunday midnight into Monday: compare it with next week's Monday too.
    # Sorted by start, two stretches overlap somewhere only if two neighbours do.
    wrapped = sorted(stretches + [(a + MINUTES_PER_WEEK, b + MINUTES_PER_WEEK) for a, b in stretches])
    for (_a1, b1), (a2, _b2) in zip(wrapped, wrapped[1:], strict=False):
        if a2 < b1:
            found.append(_("Two windows overlap: a moment can have one planned bandwidth only."))
            break
    days = [h.day for h in calendar.holidays]
    if len(days) != len(set(days)):
        found.append(_("A holiday is listed twice."))
    return found


def planned_at(calendar: WeeklyCalendar, at: datetime) -> int:
    """The bandwidth (kbit/s) the calendar plans at the instant ``at`` (an aware datetime)."""
    local = at.astimezone(calendar.tz)
    today = local.date()
    holiday = calendar.holiday(today)
    if holiday is not None:
        return holiday.kbps if holiday.kbps is not None else calendar.default_kbps
    for day in (today, today - timedelta(days=1)):
        if calendar.holiday(day) is not None:
            continue  # a window that starts on a holiday does not run at all
        for window in calendar.windows:
            if day.weekday() in window.days:
                begins, ends = window.bounds_on(day, calendar.tz)
                if begins <= at < ends:
                    return window.kbps
    return calendar.default_kbps


def _boundaries(calendar: WeeklyCalendar, first: date, last: date) -> Iterable[datetime]:
    day = first
    while day <= last:
        yield _instant(day, time(0, 0), calendar.tz)
        for window in calendar.windows:
            if day.weekday() in window.days:
                yield from window.bounds_on(day, calendar.tz)
        day += timedelta(days=1)


def changes(calendar: WeeklyCalendar, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """What is planned at ``start``, then each instant in (start, end) at which that changes, with
    the new size: [(start, kbps), (instant, kbps), …], instants in UTC."""
    utc = ZoneInfo("UTC")
    first = start.astimezone(calendar.tz).date() - timedelta(days=1)
    last = end.astimezone(calendar.tz).date() + timedelta(days=1)
    instants = sorted({b.astimezone(utc) for b in _boundaries(calendar, first, last) if start < b < end})
    plan = [(start.astimezone(utc), planned_at(calendar, start))]
    for instant in instants:
        kbps = planned_at(calendar, instant)
        if kbps != plan[-1][1]:
            plan.append((instant, kbps))
    return plan
