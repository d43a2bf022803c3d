"""CloudVPN traffic over HTTP: the deck's query, shapes, bounds, aggregation, limits, isolation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ies_client.simulator.presets import PRESETS, local_ms
from tests.fixtures_simulator import SimulatorHandle

from .helpers import SERVICES, assert_empty_404, assert_ies_error, create, unique

DECK = {"starttime": 1493367320, "endtime": 1495058150, "timedim": "minute", "direction": "outbound",
        "indicator": "max"}
VPN = "VPNS2S201705061433"  # nbitest_11's Site2Site
PRESET = next(p for p in PRESETS if p.cloud_vpn_name == VPN)
ACTIVE_FROM = PRESET_CREATED = local_ms(PRESET.bandwidth[0][0]) // 1000


def traffic(sim: SimulatorHandle, tenant: str = "nbitest_11", vpn: str = VPN, metric: str = "traffic-rate",
            **params: Any) -> Any:
    query = {**DECK, **params}
    query = {k: v for k, v in query.items() if v is not None}
    return sim.call("GET", f"/cloudvpnwatch/v1/traffic/connections/{vpn}/{metric}", tenant, params=query)


def points(sim: SimulatorHandle, **kwargs: Any) -> list[list[float]]:
    answer = traffic(sim, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()["points"]


def bandwidth_at(ts: int) -> int:
    """kbit/s of the preset in force at ``ts`` (its history is in presets.py)."""
    kbps = PRESET.bandwidth[0][1]
    for stamp, value in PRESET.bandwidth[1:]:
        if local_ms(stamp) // 1000 <= ts:
            kbps = value
    return kbps


def test_it_answers_the_decks_query(sim: SimulatorHandle) -> None:
    # How fast: benchmarks/traffic.py holds the target (150 ms p50), not a test's bound.
    answer = traffic(sim)
    assert answer.status_code == 200
    data = answer.json()
    assert {k: data[k] for k in DECK} == DECK
    assert (data["connection"], data["metric"], data["unit"], data["interval"]) == (VPN, "traffic-rate", "bit/s", 60)
    stamps = [p[0] for p in data["points"]]
    # The connection carried traffic from the end of its create (May 6, 14:43 Shanghai) to the query's end.
    assert stamps[0] >= PRESET_CREATED and stamps[0] - PRESET_CREATED < 15 * 60
    assert stamps[-1] < DECK["endtime"] and DECK["endtime"] - stamps[-1] <= 60
    assert all(b - a == 60 for a, b in zip(stamps, stamps[1:], strict=False))
    assert len(stamps) > 16_000


def test_it_answers_the_same_every_time(sim: SimulatorHandle) -> None:
    assert traffic(sim).content == traffic(sim).content


def test_it_never_exceeds_the_bandwidth_in_force(sim: SimulatorHandle) -> None:
    series = points(sim)
    assert all(0 < value <= bandwidth_at(ts) * 1000 for ts, value in series)
    # The steps show: after the second change (to 80 Mbit/s) the peak is above the first bandwidth.
    last_change = local_ms(PRESET.bandwidth[-1][0]) // 1000
    assert max(v for ts, v in series if ts >= last_change) > PRESET.bandwidth[0][1] * 1000
    utilisation = points(sim, metric="bandwidth-utilization")
    assert all(0 < value <= 100 for _, value in utilisation)
    rates = dict((int(ts), v) for ts, v in series)
    for ts, value in utilisation[::997]:
        assert abs(value - rates[int(ts)] / (bandwidth_at(int(ts)) * 10)) <= 0.011


def test_inbound_and_outbound_differ(sim: SimulatorHandle) -> None:
    outbound = points(sim, endtime=DECK["starttime"] + 20 * 86400)
    inbound = points(sim, endtime=DECK["starttime"] + 20 * 86400, direction="inbound")
    assert [p[0] for p in outbound] == [p[0] for p in inbound]
    assert sum(p[1] for p in outbound) != sum(p[1] for p in inbound)


@pytest.mark.parametrize("timedim", ["hour", "day"])
def test_it_aggregates_hours_and_days_from_minutes(sim: SimulatorHandle, timedim: str) -> None:
    start, end = PRESET_CREATED + 86400, PRESET_CREATED + 86400 * 5
    interval = 3600 if timedim == "hour" else 86400
    by = {ind: dict((int(t), v) for t, v in points(sim, starttime=start, endtime=end, timedim=timedim,
                                                   indicator=ind)) for ind in ("max", "avg", "min")}
    assert by["max"].keys() == by["avg"].keys() == by["min"].keys()
    assert all(t % interval == 0 for t in by["max"])
    for t in by["max"]:
        assert by["max"][t] >= by["avg"][t] >= by["min"][t] > 0
    # A bucket is the aggregate of its minutes.
    bucket = sorted(by["max"])[1]
    for indicator, combine in (("max", max), ("min", min)):
        minutes = [v for _, v in points(sim, starttime=bucket, endtime=bucket + interval, indicator=indicator)]
        assert len(minutes) == interval // 60
        assert by[indicator][bucket] == combine(minutes)
    minutes = [v for _, v in points(sim, starttime=bucket, endtime=bucket + interval, indicator="avg")]
    assert abs(by["avg"][bucket] - sum(minutes) / len(minutes)) <= 1


def test_it_has_daily_rhythm(sim: SimulatorHandle) -> None:
    """Afternoons (Shanghai) carry more than nights, on average over a fortnight."""
    series = points(sim, starttime=PRESET_CREATED + 86400, endtime=PRESET_CREATED + 15 * 86400, timedim="hour",
                    indicator="avg")
    by_hour: dict[int, list[float]] = {}
    for ts, value in series:
        by_hour.setdefault((int(ts) // 3600 + 8) % 24, []).append(value / bandwidth_at(int(ts)))
    mean = {h: sum(v) / len(v) for h, v in by_hour.items()}
    assert mean[15] > 2 * mean[4]


def test_it_answers_empty_points_before_creation(sim: SimulatorHandle) -> None:
    answer = traffic(sim, starttime=DECK["starttime"], endtime=PRESET_CREATED - 3600)
    assert answer.status_code == 200 and answer.json()["points"] == []
    assert points(sim, timedim="day", starttime=0, endtime=PRESET_CREATED - 86400) == []


def test_it_answers_a_connection_still_being_created_with_no_points(sim: SimulatorHandle) -> None:
    tenant = unique("tr_")
    sim.new_tenant(tenant)
    from .helpers import create_body

    body = create_body()
    vpn = body["service"]["parameters"]["Site2DCList"][0]["CloudVpnName"]
    create(sim, tenant, body)
    now = int(time.time())
    answer = traffic(sim, tenant=tenant, vpn=vpn, starttime=now - 3600, endtime=now + 3600)
    assert answer.status_code == 200 and answer.json()["points"] == []


def test_it_hides_unknown_and_other_tenants_connections(sim: SimulatorHandle) -> None:
    assert_empty_404(traffic(sim, vpn="NOSUCHCONNECTION"))
    assert_empty_404(traffic(sim, tenant="nbitest_12"))  # VPNS2S… is nbitest_11's
    assert traffic(sim, tenant="nbitest_12", vpn="0S2DC201705071132").status_code == 200


def test_a_deleted_connection_still_answers(sim: SimulatorHandle) -> None:
    tenant = unique("trdel_")
    sim.new_tenant(tenant)
    sim.bulk_services(tenant, 1)
    (listed,) = sim.call("GET", SERVICES, tenant).json()["services"]
    detail = sim.call("GET", f"{SERVICES}/{listed['service_id']}", tenant).json()["service"]
    answer = sim.call("DELETE", f"{SERVICES}/{listed['service_id']}", tenant)
    from .helpers import wait_done

    wait_done(sim, tenant, listed["service_id"], answer.json()["operation_id"])
    now = int(time.time())
    assert traffic(sim, tenant=tenant, vpn=detail["CloudVpnName"], starttime=now - 600, endtime=now).status_code == 200


BAD_QUERIES = [
    ({"metric": "speed"}, "metric"),
    ({"starttime": None}, "starttime"),
    ({"endtime": None}, "endtime"),
    ({"timedim": None}, "timedim"),
    ({"direction": None}, "direction"),
    ({"indicator": None}, "indicator"),
    ({"starttime": "abc"}, "starttime"),
    ({"starttime": "1.5"}, "starttime"),
    ({"starttime": "-1"}, "starttime"),
    ({"endtime": "99999999999"}, "endtime"),
    ({"timedim": "week"}, "timedim"),
    ({"direction": "sideways"}, "direction"),
    ({"indicator": "p95"}, "indicator"),
    ({"endtime": DECK["starttime"]}, "endtime"),
    ({"endtime": DECK["starttime"] - 60}, "endtime"),
    ({"starttime": 1_000_000_000 + 60, "endtime": 1_000_000_000 + 60 * 44_641}, "endtime"),
    ({"timedim": "hour", "starttime": 0, "endtime": 3600 * 44_641}, "endtime"),
]


@pytest.mark.parametrize(("change", "field"), BAD_QUERIES)
def test_it_refuses_nonsense(sim: SimulatorHandle, change: dict[str, Any], field: str) -> None:
    answer = traffic(sim, **change)
    assert_ies_error(answer, 400, "cloudvpnwatch.bad_param", field)


def test_it_refuses_a_parameter_given_twice(sim: SimulatorHandle) -> None:
    url = f"/cloudvpnwatch/v1/traffic/connections/{VPN}/traffic-rate"
    answer = sim.call("GET", url, "nbitest_11", params=[*DECK.items(), ("timedim", "hour")])
    assert_ies_error(answer, 400, "cloudvpnwatch.bad_param", "timedim")


def test_it_answers_the_largest_allowed_range(sim: SimulatorHandle) -> None:
    start = PRESET_CREATED + 86400 * 30
    assert len(points(sim, starttime=start, endtime=start + 60 * 44_640)) == 44_640
