"""The time range of a chart, read from the URL's query string, and the timedim that fits it.

The range lives in the URL (``?range=24h`` or ``?start=…&end=…``, plus ``timedim`` and
``indicator``) so that a chart can be bookmarked and shared. Times a person types are read in the
portal's zone (``settings.TIME_ZONE``) unless they carry an offset; epoch seconds are accepted too
(that is what the chart sends after a drag-zoom, and what an export link carries).

Nothing here calls IES; a bad range is a :class:`RangeError` with a message a person can act on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

INTERVALS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
TIMEDIMS = tuple(INTERVALS)
INDICATORS = ("max", "avg", "min")

PRESETS: dict[str, int] = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
PRESET_LABELS = {
    "1h": gettext_lazy("1 hour"),
    "24h": gettext_lazy("24 hours"),
    "7d": gettext_lazy("7 days"),
    "30d": gettext_lazy("30 days"),
}
DEFAULT_PRESET = "24h"
TIMEDIM_LABELS = {
    "minute": gettext_lazy("per minute"),
    "hour": gettext_lazy("per hour"),
    "day": gettext_lazy("per day"),
}
INDICATOR_LABELS = {"max": gettext_lazy("maximum"), "avg": gettext_lazy("average"), "min": gettext_lazy("minimum")}

# IES answers at most 44,640 buckets per call (31 days by the minute). A longer range at that
# timedim is split into several calls, up to this many per series; beyond it the timedim is
# coarsened (a page must not wait for a dozen calls of a million points each).
MAX_BUCKETS_PER_CALL = 44_640
MAX_CALLS_PER_SERIES = 4
# Automatic timedim: about a day and a half by the minute, a month and a half by the hour.
AUTO_MINUTE_UP_TO = 36 * 3600
AUTO_HOUR_UP_TO = 45 * 86400

TIME_MIN = 946_684_800  # 2000-01-01: IES has nothing older; an earlier date is a typo
MAX_SPAN = 5 * 366 * 86400
MIN_SPAN = 120  # two minutes: less cannot be drawn as a line


class RangeError(ValueError):
    """A range the portal refuses; ``field`` names the query parameter, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TimeRange:
    """A resolved chart range: ``[start, end)`` in Unix seconds, aligned to ``timedim``'s buckets.

    ``live``: the range ends at "now", so the chart refreshes itself. ``notes`` are sentences for
    the person (e.g. why the timedim was coarsened).
    """

    start: int
    end: int
    timedim: str
    indicator: str
    preset: str | None = None
    live: bool = False
    timedim_auto: bool = True
    requested_timedim: str = "auto"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def interval(self) -> int:
        return INTERVALS[self.timedim]

    @property
    def span(self) -> int:
        return self.end - self.start

    @property
    def timedim_label(self) -> str:
        return str(TIMEDIM_LABELS[self.timedim])

    @property
    def indicator_label(self) -> str:
        return str(INDICATOR_LABELS[self.indicator])

    @property
    def buckets(self) -> int:
        return self.span // self.interval

    def query(self, *, exact: bool = False) -> dict[str, str]:
        """The query string that reproduces this range. ``exact``: the resolved start and end
        (for an export of exactly what is shown), else the preset when there is one."""
        params: dict[str, str] = {}
        if self.preset and not exact:
            params["range"] = self.preset
        else:
            params["start"] = str(self.start)
            params["end"] = str(self.end)
        if exact or not self.timedim_auto:
            params["timedim"] = self.timedim
        params["indicator"] = self.indicator
        return params


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def zone_label(at: int | None = None) -> str:
    """"Asia/Shanghai (UTC+08:00)": the zone every time on the page is shown in."""
    tz = zone()
    moment = datetime.fromtimestamp(at, tz) if at is not None else datetime.now(tz)
    offset = moment.strftime("%z")
    return f"{settings.TIME_ZONE} (UTC{offset[:3]}:{offset[3:]})"


def zone_abbreviations(*epochs: int) -> dict[str, str]:
    """{"+08:00": "CST"}: the abbreviation Django's ``date:"T"`` writes for each UTC offset the zone
    has around these moments (a year of them, so both sides of a summer-time change are there).

    The browser's own names differ ("GMT+8" where the server writes "CST"): the charts look the
    offset up here so that every time on a page carries the same zone name."""
    tz = zone()
    names: dict[str, str] = {}
    for epoch in epochs:
        for month in range(13):
            moment = datetime.fromtimestamp(epoch - month * 30 * 86400, tz)
            offset = moment.strftime("%z")
            names.setdefault(f"{offset[:3]}:{offset[3:]}", moment.tzname() or "")
    return names


def iso_local(epoch: int) -> str:
    """ISO 8601 in the portal's zone with its offset: 2017-05-20T14:30:00+08:00."""
    return datetime.fromtimestamp(epoch, zone()).isoformat()


def input_local(epoch: int) -> str:
    """The value of a ``datetime-local`` input: 2017-05-20T14:30 (portal zone, no offset)."""
    return datetime.fromtimestamp(epoch, zone()).strftime("%Y-%m-%dT%H:%M")


def parse_time(text: str, *, name: str) -> int:
    """Unix seconds from epoch digits or an ISO 8601 date/time (naive: the portal's zone)."""
    value = (text or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 11:
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    except ValueError:
        example = "2017-05-20 14:30"
        if name == "start":
            raise RangeError(name, _("Enter the start as a date and time, e.g. %(example)s.")
                             % {"example": example}) from None
        raise RangeError(name, _("Enter the end as a date and time, e.g. %(example)s, or leave it empty for "
                                 "“now”.") % {"example": example}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return math.floor(moment.timestamp())


def auto_timedim(span: int) -> str:
    if span <= AUTO_MINUTE_UP_TO:
        return "minute"
    if span <= AUTO_HOUR_UP_TO:
        return "hour"
    return "day"


def _coarser(timedim: str) -> str:
    return {"minute": "hour", "hour": "day"}.get(timedim, "day")


def align(start: int, end: int, interval: int) -> tuple[int, int]:
    """Whole buckets covering ``[start, end)``: the first one holding start, the last holding end-1."""
    return start // interval * interval, -(-end // interval) * interval


def parse(params: Mapping[str, str], *, now: int, anchor: int | None = None) -> TimeRange:
    """The range a query string asks for.

    ``now``: Unix seconds. ``anchor``: where "now" stands for this connection when it is not the
    clock (a deleted service's history ends at its deletion: presets count back from there).
    """
    end_of_time = min(now, anchor) if anchor is not None else now
    indicator = (params.get("indicator") or "max").strip()
    if indicator not in INDICATORS:
        raise RangeError("indicator", _("Choose maximum, average or minimum."))
    requested = (params.get("timedim") or "auto").strip()
    if requested not in (*TIMEDIMS, "auto"):
        raise RangeError("timedim", _("Choose automatic, per minute, per hour or per day."))

    preset = (params.get("range") or "").strip()
    start_text = (params.get("start") or "").strip()
    end_text = (params.get("end") or "").strip()
    live = False
    if start_text and preset in ("", "custom"):
        start = parse_time(start_text, name="start")
        if end_text and end_text.lower() != "now":
            end = parse_time(end_text, name="end")
        else:
            end, live = end_of_time, anchor is None
        preset = ""
    else:
        preset = preset or DEFAULT_PRESET
        if preset not in PRESETS:
            raise RangeError("range", _("Choose one of the ranges offered, or enter a start and an end."))
        end, live = end_of_time, anchor is None
        start = end - PRESETS[preset]

    if start < TIME_MIN:
        raise RangeError("start", _("IES keeps no traffic from before 2000: choose a later start."))
    if start >= now:
        raise RangeError("start", _("The start lies in the future."))
    if end <= start:
        raise RangeError("end", _("The end must be later than the start."))
    if end >= now:
        # A range running into the future ends now, and is refreshed as time goes by.
        end, live = now, anchor is None
    if end - start < MIN_SPAN:
        raise RangeError("end", _("Choose a range of at least two minutes."))
    if end - start > MAX_SPAN:
        raise RangeError("start", _("A chart covers at most five years: choose a later start."))

    notes: list[str] = []
    timedim = auto_timedim(end - start) if requested == "auto" else requested
    while timedim != "day":
        a, b = align(start, end, INTERVALS[timedim])
        if (b - a) // INTERVALS[timedim] <= MAX_BUCKETS_PER_CALL * MAX_CALLS_PER_SERIES:
            break
        coarser = _coarser(timedim)
        notes.append(_("This range holds too many values %(fine)s to chart at once: it is shown %(coarse)s.")
                     % {"fine": TIMEDIM_LABELS[timedim], "coarse": TIMEDIM_LABELS[coarser]})
        timedim = coarser
    a, b = align(start, end, INTERVALS[timedim])
    return TimeRange(start=a, end=b, timedim=timedim, indicator=indicator, preset=preset or None, live=live,
                     timedim_auto=requested == "auto", requested_timedim=requested, notes=tuple(notes))
