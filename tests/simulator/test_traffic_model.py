"""The traffic model without HTTP: lifetimes, bandwidth history, aggregation, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from ies_client.simulator import traffic_model
from ies_client.simulator.errors import IesError
from ies_client.simulator.traffic_model import Lifetime, Query

DAY = 86400
T0 = 1_600_000_020  # 20 s past a minute: the connection starts mid-minute
NOW = T0 + 40 * DAY


def query(**changes: object) -> Query:
    base = {"connection": "UNIT1", "metric": "traffic-rate", "starttime": T0 - DAY, "endtime": T0 + 10 * DAY,
            "timedim": "minute", "direction": "outbound", "indicator": "max"}
    return Query(**{**base, **changes})  # type: ignore[arg-type]


LIFE = Lifetime(T0, T0 + 6 * DAY + 30, [(T0, 20000), (T0 + 2 * DAY + 7, 100000), (T0 + 4 * DAY, 10000)])


def test_nothing_before_creation_or_after_deletion() -> None:
    stamps, values = traffic_model.series(query(), [LIFE], NOW)
    assert stamps[0] >= T0 and stamps[0] - T0 < 60
    assert stamps[-1] < LIFE.ended_at
    assert len(stamps) == len(values) == (LIFE.ended_at - stamps[0] + 59) // 60


def test_the_bandwidth_in_force_caps_every_minute() -> None:
    stamps, values = traffic_model.series(query(), [LIFE], NOW)
    at = np.array([h[0] for h in LIFE.bandwidth])
    kbps = np.array([h[1] for h in LIFE.bandwidth])[np.searchsorted(at, stamps, side="right") - 1]
    assert np.all(values <= kbps * 1000) and np.all(values > 0)
    middle = (stamps >= T0 + 2 * DAY + 60) & (stamps < T0 + 4 * DAY)
    assert values[middle].max() > 20000 * 1000  # the raise shows
    assert values[stamps >= T0 + 4 * DAY].max() <= 10000 * 1000  # and so does the cut


def test_a_name_used_twice_has_a_gap_between_its_lives() -> None:
    second = Lifetime(T0 + 8 * DAY, None, [(T0 + 8 * DAY, 50000)])
    stamps, _ = traffic_model.series(query(), [LIFE, second], NOW)
    gap = (stamps >= LIFE.ended_at) & (stamps < second.started_at)
    assert not gap.any() and stamps[-1] >= second.started_at


def test_the_future_has_no_traffic() -> None:
    stamps, _ = traffic_model.series(query(endtime=T0 + 3 * DAY), [LIFE], T0 + DAY)
    assert stamps[-1] < T0 + DAY


@pytest.mark.parametrize("metric", ["traffic-rate", "bandwidth-utilization"])
@pytest.mark.parametrize(("timedim", "interval"), [("hour", 3600), ("day", DAY)])
def test_buckets_aggregate_minutes(metric: str, timedim: str, interval: int) -> None:
    result = {}
    for indicator in ("max", "avg", "min"):
        result[indicator] = traffic_model.series(query(metric=metric, timedim=timedim, indicator=indicator), [LIFE], NOW)
    stamps = result["max"][0]
    assert np.array_equal(stamps, result["min"][0]) and np.all(stamps % interval == 0)
    assert np.all(result["max"][1] >= result["avg"][1]) and np.all(result["avg"][1] >= result["min"][1])
    minute_stamps, minute_max = traffic_model.series(query(metric=metric, indicator="max"), [LIFE], NOW)
    second = stamps[1]
    inside = (minute_stamps >= second) & (minute_stamps < second + interval)
    assert result["max"][1][1] == minute_max[inside].max()


def test_it_is_deterministic_and_depends_on_the_name() -> None:
    a = traffic_model.series(query(), [LIFE], NOW)[1]
    assert np.array_equal(a, traffic_model.series(query(), [LIFE], NOW)[1])
    assert not np.array_equal(a, traffic_model.series(query(connection="UNIT2"), [LIFE], NOW)[1])


def test_a_window_gives_the_same_values_as_a_wider_one() -> None:
    wide_t, wide_v = traffic_model.series(query(), [LIFE], NOW)
    narrow_t, narrow_v = traffic_model.series(query(starttime=T0 + DAY, endtime=T0 + DAY + 3600), [LIFE], NOW)
    index = np.searchsorted(wide_t, narrow_t)
    assert np.array_equal(wide_v[index], narrow_v) and len(narrow_t) == 60


def test_a_long_day_query_is_computed_in_chunks() -> None:
    life = Lifetime(T0, None, [(T0, 50000)])
    stamps, values = traffic_model.series(query(timedim="day", starttime=T0, endtime=T0 + 400 * DAY), [life],
                                    T0 + 400 * DAY)
    # T0 is not midnight UTC: 400 days touch 401 UTC-aligned day buckets.
    assert len(stamps) == 401 and np.all(np.diff(stamps) == DAY) and stamps[0] % DAY == 0


def test_the_answer_is_json_with_points_last() -> None:
    import json

    body = json.loads(traffic_model.answer(query(endtime=T0 + 3600), [LIFE], NOW))
    assert body["unit"] == "bit/s" and body["interval"] == 60 and len(body["points"]) == 60
    assert all(isinstance(t, int) and isinstance(v, float) for t, v in body["points"])


def test_points_are_encoded_exactly() -> None:
    import json

    rng = np.random.default_rng(7)
    for decimals in (1, 2):
        stamps = np.sort(rng.integers(0, traffic_model.TIME_MAX, 2000))
        values = np.round(rng.random(2000) * 10.0 ** rng.integers(0, 11, 2000), decimals)
        values[:3] = [0, 9, 10]
        decoded = json.loads(traffic_model.encode_points(stamps, values, decimals))
        assert decoded == [[int(t), float(v)] for t, v in zip(stamps, values, strict=True)]
    assert traffic_model.encode_points(np.zeros(0, dtype=np.int64), np.zeros(0), 1) == "[]"


@pytest.mark.parametrize("params", [{}, {"starttime": ["x"]}, {"timedim": ["minute", "hour"]}])
def test_parse_query_names_what_is_wrong(params: dict[str, list[str]]) -> None:
    with pytest.raises(IesError) as raised:
        traffic_model.parse_query("X", "traffic-rate", params)
    assert raised.value.status == 400 and raised.value.body()["descArgs"]
