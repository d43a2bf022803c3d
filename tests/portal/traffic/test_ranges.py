"""Reading a chart's range from the query string (no IES involved)."""

from datetime import datetime, timedelta, timezone

import pytest

from portal.traffic import ranges

SHANGHAI = timezone(timedelta(hours=8))
NOW = int(datetime(2026, 11, 29, 15, 30, 25, tzinfo=SHANGHAI).timestamp())


def parse(**params):
    return ranges.parse(params, now=NOW)


def test_it_defaults_to_the_last_24_hours_by_the_minute_ending_now():
    r = parse()
    assert (r.preset, r.timedim, r.indicator, r.live) == ("24h", "minute", "max", True)
    assert r.start == (NOW - 86400) // 60 * 60 and r.end == -(-NOW // 60) * 60


@pytest.mark.parametrize(("preset", "seconds", "timedim"), [
    ("1h", 3600, "minute"), ("24h", 86400, "minute"), ("7d", 7 * 86400, "hour"), ("30d", 30 * 86400, "hour"),
])
def test_presets_count_back_from_now(preset, seconds, timedim):
    r = parse(range=preset)
    assert r.timedim == timedim and r.live
    assert r.start == (NOW - seconds) // r.interval * r.interval


def test_a_deleted_services_presets_count_back_from_its_deletion():
    gone = NOW - 10 * 86400
    r = ranges.parse({"range": "24h"}, now=NOW, anchor=gone)
    assert r.end == gone // 60 * 60 + (60 if gone % 60 else 0) and not r.live


def test_a_custom_range_is_read_in_the_portal_zone_and_aligned_to_its_buckets():
    r = parse(start="2017-05-10 09:00", end="2017-05-10T21:30")
    assert r.start == int(datetime(2017, 5, 10, 9, tzinfo=SHANGHAI).timestamp())
    assert r.end == int(datetime(2017, 5, 10, 21, 30, tzinfo=SHANGHAI).timestamp())
    assert r.preset is None and not r.live and r.timedim == "minute"


def test_a_custom_range_without_end_runs_until_now():
    r = parse(start="2026-11-29 10:00")
    assert r.live and r.end == -(-NOW // 60) * 60


def test_epoch_seconds_are_accepted():
    r = parse(start="1494378000", end="1494388800")
    assert (r.start, r.end) == (1494378000, 1494388800)


@pytest.mark.parametrize(("span_days", "timedim"), [(1, "minute"), (1.5, "minute"), (2, "hour"), (45, "hour"),
                                                    (46, "day"), (400, "day")])
def test_the_automatic_timedim(span_days, timedim):
    assert ranges.auto_timedim(int(span_days * 86400)) == timedim


def test_a_long_range_by_the_minute_is_coarsened_with_a_note():
    r = parse(start=str(NOW - 200 * 86400), end=str(NOW - 86400), timedim="minute")
    assert r.timedim == "hour" and not r.timedim_auto
    assert r.notes and "per hour" in r.notes[0]


def test_a_range_several_calls_can_answer_stays_by_the_minute():
    r = parse(start=str(NOW - 100 * 86400), end=str(NOW - 86400), timedim="minute")
    assert r.timedim == "minute" and not r.notes


def test_the_exact_query_reproduces_the_range():
    r = parse(range="7d", indicator="avg")
    again = ranges.parse(r.query(exact=True), now=NOW + 3600)
    assert (again.start, again.end, again.timedim, again.indicator) == (r.start, r.end, r.timedim, r.indicator)
    assert r.query() == {"range": "7d", "indicator": "avg"}


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "not a date"}, "start"),
    ({"start": "2017-05-10", "end": "2017-05-09"}, "end"),
    ({"start": "2017-05-10", "end": "2017-05-10"}, "end"),
    ({"start": "1990-01-01"}, "start"),
    ({"start": "2030-01-01"}, "start"),
    ({"start": "2001-01-01", "end": "2020-01-01"}, "start"),
    ({"range": "fortnight"}, "range"),
    ({"timedim": "week"}, "timedim"),
    ({"indicator": "median"}, "indicator"),
])
def test_bad_ranges_raise_a_range_error_naming_the_field(params, field):
    with pytest.raises(ranges.RangeError) as caught:
        parse(**params)
    assert caught.value.field == field and caught.value.message


def test_the_zone_label_names_the_zone_and_its_offset():
    assert ranges.zone_label(NOW) == "Asia/Shanghai (UTC+08:00)"
    assert ranges.iso_local(1494378000) == "2017-05-10T09:00:00+08:00"
