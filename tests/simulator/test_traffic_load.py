"""Load switches (/rest/_sim/traffic/load): a connection's demand over a span, over real HTTP.

Most tests shape 2017 minutes of nbitest_11's preset connection: its bandwidth history there is
fixed (a change made today adds a step today, never then), so the expected values are exact
whatever other tests of the session did to the preset. The last half hour, which is what an
auto-scaling test will load, is shaped on nbitest_14's preset, whose bandwidth is read first.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ies_client.simulator.presets import local_ms
from ies_client.simulator.traffic_model import TIME_MAX
from tests.fixtures_simulator import SimulatorHandle, start_simulator

from .helpers import SERVICES, assert_empty_404, assert_ies_error, service, wait_done

LOAD = "/_sim/traffic/load"
VPN = "VPNS2S201705061433"  # nbitest_11's Site2Site: 20 Mbit/s until 10 May 2017 10:12 (local), then 50
RAISED_AT = local_ms("201705101012") // 1000
DAY = 1494201600  # 8 May 2017 00:00 UTC: a whole UTC day at 20 Mbit/s
RECENT_TENANT, RECENT_VPN, RECENT_SERVICE = "nbitest_14", "0S2DC4201705092039", "L8YNdmm4Rg-SJcMnlicUQA"


@pytest.fixture(autouse=True)
def _no_load_rules(sim: SimulatorHandle) -> Iterator[None]:
    """The shared simulator's fixture clears fault rules, not load rules: these tests clear theirs,
    before (a failed test's leftovers) and after (the preset connections are everyone's)."""
    sim.http.delete(sim.url(LOAD), timeout=10).raise_for_status()
    yield
    if sim.running:
        sim.http.delete(sim.url(LOAD), timeout=10).raise_for_status()


def add_load(sim: SimulatorHandle, **rule: Any) -> dict[str, Any]:
    """Add a rule (``from`` is a keyword: pass it as ``**{"from": …}`` or through ``start``)."""
    if "start" in rule:
        rule["from"] = rule.pop("start")
    answer = sim.http.post(sim.url(LOAD), json=rule, timeout=10)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["id"] == body["rule"]["id"]
    return dict(body["rule"])


def rules(sim: SimulatorHandle) -> list[dict[str, Any]]:
    answer = sim.http.get(sim.url(LOAD), timeout=10)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["rules"])


def traffic(sim: SimulatorHandle, start: int, end: int, *, tenant: str = "nbitest_11", vpn: str = VPN,
            metric: str = "bandwidth-utilization", indicator: str = "avg", direction: str = "outbound",
            timedim: str = "minute") -> requests.Response:
    query = {"starttime": start, "endtime": end, "timedim": timedim, "direction": direction, "indicator": indicator}
    return sim.call("GET", f"/cloudvpnwatch/v1/traffic/connections/{vpn}/{metric}", tenant, params=query)


def values(sim: SimulatorHandle, start: int, end: int, **kwargs: Any) -> dict[int, float]:
    answer = traffic(sim, start, end, **kwargs)
    assert answer.status_code == 200, answer.text
    return {int(t): v for t, v in answer.json()["points"]}


def p95(series: dict[int, float]) -> float:
    return statistics.quantiles(series.values(), n=20, method="inclusive")[-1]


def near(value: float, target: float) -> bool:
    """Within the ±2 % a demand keeps of the model's noise (and a hundredth for the rounding down)."""
    return target * 0.98 - 0.011 <= value <= target * 1.02 + 0.011


def recent_bandwidth_bps(sim: SimulatorHandle) -> int:
    detail = service(sim, RECENT_TENANT, RECENT_SERVICE)
    assert detail["status"] == "Completed", detail  # no update under way: the bandwidth is the one in force
    return int(detail["Bandwidth"]) * 1000


def test_a_busy_half_hour_shows_at_once_above_80_percent_and_never_above_the_bandwidth(
        sim: SimulatorHandle) -> None:
    capacity = recent_bandwidth_bps(sim)
    now = int(time.time())
    # From a minute start: the minute that began before `from` is outside the span.
    start, end = now // 60 * 60 - 1800, now
    untouched_inbound = traffic(sim, start, end, tenant=RECENT_TENANT, vpn=RECENT_VPN, direction="inbound").content
    rule = add_load(sim, tenant=RECENT_TENANT, connection=RECENT_VPN, direction="outbound",
                    rate_bps=int(capacity * 0.9), start=start, until=None)
    assert rule["until"] is None and rule["utilisation"] is None and rule["rate_bps"] == int(capacity * 0.9)
    kwargs: dict[str, Any] = {"tenant": RECENT_TENANT, "vpn": RECENT_VPN}
    utilisation = values(sim, start, end, **kwargs)
    assert len(utilisation) >= 29  # every complete minute since `start`: past minutes change too
    assert p95(utilisation) > 80 and all(near(v, 90) for v in utilisation.values())
    assert len(set(utilisation.values())) > 5, "a little noise: the percentiles are not one value"
    by = {ind: values(sim, start, end, metric="traffic-rate", indicator=ind, **kwargs) for ind in ("max", "avg", "min")}
    for minute, avg in by["avg"].items():
        assert capacity >= by["max"][minute] >= avg >= by["min"][minute] > 0
        assert by["max"][minute] <= avg * 1.04 + 1 and by["min"][minute] >= avg * 0.96 - 1
        assert abs(utilisation[minute] - avg / capacity * 100) <= 0.011
    assert traffic(sim, start, end, direction="inbound", **kwargs).content == untouched_inbound

    # A demand above the line is capped by it: the line is full, never fuller.
    add_load(sim, tenant=RECENT_TENANT, connection=RECENT_VPN, rate_bps=capacity * 10, start=start)
    for indicator in ("max", "avg"):
        rates = values(sim, start, end, metric="traffic-rate", indicator=indicator, **kwargs)
        assert all(capacity * 0.98 - 1 <= v <= capacity for v in rates.values())
    assert all(98 - 0.011 <= v <= 100 for v in values(sim, start, end, direction="inbound", **kwargs).values())


def test_the_same_rate_gives_a_lower_utilisation_after_a_raise(sim: SimulatorHandle) -> None:
    """The preset's recorded raise from 20 to 50 Mbit/s: 18 Mbit/s fill 90 %, then 36 %."""
    add_load(sim, tenant="nbitest_11", connection=VPN, rate_bps=18_000_000, start=RAISED_AT - 3600,
             until=RAISED_AT + 3600)
    utilisation = values(sim, RAISED_AT - 3600, RAISED_AT + 3600)
    before = {t: v for t, v in utilisation.items() if t < RAISED_AT}
    after = {t: v for t, v in utilisation.items() if t >= RAISED_AT}
    assert len(before) == len(after) == 60
    assert all(near(v, 90) for v in before.values()) and all(near(v, 36) for v in after.values())
    assert statistics.median(after.values()) / statistics.median(before.values()) == pytest.approx(0.4, abs=0.02)
    rates = values(sim, RAISED_AT - 3600, RAISED_AT + 3600, metric="traffic-rate")
    assert all(near(v, 18_000_000) for v in rates.values()), "the demand itself does not change"


def test_a_utilisation_rule_follows_the_bandwidth(sim: SimulatorHandle) -> None:
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.5, start=RAISED_AT - 3600,
             until=RAISED_AT + 3600)
    utilisation = values(sim, RAISED_AT - 3600, RAISED_AT + 3600)
    assert all(near(v, 50) for v in utilisation.values())
    rates = values(sim, RAISED_AT - 3600, RAISED_AT + 3600, metric="traffic-rate")
    assert all(near(v, 10_000_000) for t, v in rates.items() if t < RAISED_AT)
    assert all(near(v, 25_000_000) for t, v in rates.items() if t >= RAISED_AT)


def test_a_span_covers_the_minutes_that_start_in_it(sim: SimulatorHandle) -> None:
    start = DAY + 5 * 3600
    baseline = values(sim, start, start + 3600)
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.5, start=start + 30, until=start + 600)
    loaded = values(sim, start, start + 3600)
    inside = range(start + 60, start + 600, 60)
    assert all(near(loaded[t], 50) for t in inside)
    outside = [t for t in loaded if t not in inside]
    assert outside[0] == start and outside[1] == start + 600  # began before from; begins at until
    assert all(loaded[t] == baseline[t] for t in outside), "outside the span: the model's values, to the bit"


def test_an_open_ended_rule_has_no_end(sim: SimulatorHandle) -> None:
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.7, start=DAY)
    (rule,) = rules(sim)
    assert rule["until"] is None and rule["from"] == DAY and rule["direction"] == "both"
    for start in (DAY, RAISED_AT + 30 * 86400):
        assert all(near(v, 70) for v in values(sim, start, start + 3600).values())
        assert all(near(v, 70) for v in values(sim, start, start + 3600, direction="inbound").values())


def test_the_later_rule_wins_where_spans_overlap(sim: SimulatorHandle) -> None:
    start, end = DAY + 3600, DAY + 2 * 3600
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.9, start=start, until=end)
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.2, start=start + 1200, until=start + 2400)
    middle = range(start + 1200, start + 2400, 60)
    shaped = values(sim, start, end)
    assert all(near(v, 20 if t in middle else 90) for t, v in shaped.items())
    cover = add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.6, start=start, until=end)
    assert all(near(v, 60) for v in values(sim, start, end).values())
    # One direction only: the other keeps the earlier rules.
    add_load(sim, tenant="nbitest_11", connection=VPN, direction="inbound", utilisation=0.1, start=start,
             until=end)
    assert all(near(v, 60) for v in values(sim, start, end).values())
    assert all(near(v, 10) for v in values(sim, start, end, direction="inbound").values())
    assert [r["id"] for r in rules(sim)][2] == cover["id"]

    removed = sim.http.delete(sim.url(f"{LOAD}/{cover['id']}"), timeout=10)
    assert removed.status_code == 200 and removed.json() == {"removed": cover["id"]}
    assert values(sim, start, end) == shaped
    assert cover["id"] not in [r["id"] for r in rules(sim)]
    assert_empty_404(sim.http.delete(sim.url(f"{LOAD}/{cover['id']}"), timeout=10))


def test_hours_and_days_aggregate_the_loaded_minutes(sim: SimulatorHandle) -> None:
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.85, start=DAY, until=DAY + 86400)
    by = {ind: values(sim, DAY, DAY + 86400, timedim="day", indicator=ind) for ind in ("max", "avg", "min")}
    assert list(by["avg"]) == [DAY]
    assert by["max"][DAY] >= by["avg"][DAY] >= by["min"][DAY] and near(by["avg"][DAY], 85)
    hours = values(sim, DAY, DAY + 86400, timedim="hour")
    assert len(hours) == 24 and all(near(v, 85) for v in hours.values())
    minutes = values(sim, DAY + 7200, DAY + 3 * 3600)
    assert hours[DAY + 7200] == pytest.approx(sum(minutes.values()) / 60, abs=0.01)
    rates = values(sim, DAY, DAY + 86400, metric="traffic-rate", timedim="day")
    assert near(rates[DAY], 17_000_000)


def test_the_same_query_answers_the_same(sim: SimulatorHandle) -> None:
    add_load(sim, tenant="nbitest_11", connection=VPN, rate_bps=15_000_000, start=DAY, until=DAY + 7200)
    for indicator in ("max", "avg", "min"):
        first = traffic(sim, DAY - 3600, DAY + 3 * 3600, metric="traffic-rate", indicator=indicator)
        assert first.status_code == 200
        assert traffic(sim, DAY - 3600, DAY + 3 * 3600, metric="traffic-rate", indicator=indicator).content == \
            first.content


def test_clearing_restores_the_model(sim: SimulatorHandle) -> None:
    baseline = traffic(sim, DAY, DAY + 86400, timedim="hour").content
    add_load(sim, tenant="nbitest_11", connection=VPN, rate_bps=19_000_000, start=DAY)
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=0.05, start=DAY + 3600, until=DAY + 7200)
    assert traffic(sim, DAY, DAY + 86400, timedim="hour").content != baseline
    assert len(rules(sim)) == 2
    cleared = sim.http.delete(sim.url(LOAD), timeout=10)
    assert cleared.status_code == 200 and cleared.json() == {"rules": []}
    assert rules(sim) == []
    assert traffic(sim, DAY, DAY + 86400, timedim="hour").content == baseline


def test_a_rule_touches_only_its_connection(sim: SimulatorHandle) -> None:
    other = {"tenant": "nbitest_12", "vpn": "0S2DC201705071132"}
    baseline = traffic(sim, DAY, DAY + 3600, **other).content
    add_load(sim, tenant="nbitest_11", connection=VPN, utilisation=1.0, start=DAY)
    assert traffic(sim, DAY, DAY + 3600, **other).content == baseline
    assert all(98 - 0.011 <= v <= 100 for v in values(sim, DAY, DAY + 3600).values())


BASE = {"tenant": "nbitest_11", "connection": VPN, "rate_bps": 10_000_000, "from": DAY}
MISSING = "(left out)"  # a key with this value is not sent at all; None is sent as null
BAD_RULES: list[tuple[dict[str, Any], str]] = [
    ({"tenant": MISSING}, "tenant"),
    ({"tenant": None}, "tenant"),
    ({"tenant": 11}, "tenant"),
    ({"tenant": ""}, "tenant"),
    ({"tenant": "nobody_here"}, "tenant"),
    ({"tenant": "nbitest_12"}, "connection"),  # VPNS2S… is nbitest_11's
    ({"connection": MISSING}, "connection"),
    ({"connection": None}, "connection"),
    ({"connection": ["x"]}, "connection"),
    ({"connection": "NOSUCHCONNECTION"}, "connection"),
    ({"direction": "sideways"}, "direction"),
    ({"direction": None}, "direction"),
    ({"rate_bps": MISSING}, "rate_bps"),
    ({"rate_bps": None}, "rate_bps"),
    ({"rate_bps": "90M"}, "rate_bps"),
    ({"rate_bps": True}, "rate_bps"),
    ({"rate_bps": -1}, "rate_bps"),
    ({"rate_bps": 1e13}, "rate_bps"),
    ({"utilisation": 0.5}, "utilisation"),  # with rate_bps: exactly one of the two
    ({"rate_bps": None, "utilisation": 1.5}, "utilisation"),
    ({"rate_bps": None, "utilisation": -0.1}, "utilisation"),
    ({"rate_bps": None, "utilisation": "half"}, "utilisation"),
    ({"from": MISSING}, "from"),
    ({"from": None}, "from"),
    ({"from": "now"}, "from"),
    ({"from": 1494201600.5}, "from"),
    ({"from": -60}, "from"),
    ({"from": TIME_MAX + 1}, "from"),
    ({"until": DAY}, "until"),
    ({"until": DAY - 60}, "until"),
    ({"until": "later"}, "until"),
    ({"until": TIME_MAX + 1}, "until"),
    ({"utilization": 0.5, "rate_bps": None}, "utilization"),
    ({"rate": 5}, "rate"),
]


@pytest.mark.parametrize(("change", "field"), BAD_RULES)
def test_it_names_the_bad_field(sim: SimulatorHandle, change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**BASE, **change}.items() if v is not MISSING}
    answer = sim.http.post(sim.url(LOAD), json=body, timeout=10)
    assert_ies_error(answer, 400, "servicemgr.bad_param", field)
    assert rules(sim) == []


def test_it_names_every_bad_field_at_once(sim: SimulatorHandle) -> None:
    body = {"tenant": 7, "connection": "", "direction": "up", "rate_bps": -5, "from": "yesterday",
            "until": 1.5, "utilization": 0.3}
    answer = sim.http.post(sim.url(LOAD), json=body, timeout=10)
    error = assert_ies_error(answer, 400, "servicemgr.bad_param", "tenant", "connection", "direction", "rate_bps",
                             "from", "until", "utilization")
    hint = error["adviceArgs"][error["descArgs"].index("utilization")]
    assert "utilisation" in hint
    answer = sim.http.post(sim.url(LOAD), json={**BASE, "rate_bps": None}, timeout=10)
    error = assert_ies_error(answer, 400, "servicemgr.bad_param", "rate_bps")
    assert "utilisation" in error["reasonArgs"][0]


@pytest.mark.parametrize(("raw", "field"), [(b"[1, 2]", "body"), (b"{not json", "body"), (b"", "body"),
                                            (b'{"tenant": "nbitest_11", "connection": "VPNS2S201705061433",'
                                             b' "rate_bps": NaN, "from": 1494201600}', "rate_bps")])
def test_it_refuses_a_body_that_is_no_rule(sim: SimulatorHandle, raw: bytes, field: str) -> None:
    answer = sim.http.post(sim.url(LOAD), data=raw, headers={"Content-Type": "application/json"}, timeout=10)
    assert_ies_error(answer, 400, "servicemgr.bad_param", field)


def test_it_answers_405_for_other_methods(sim: SimulatorHandle) -> None:
    answer = sim.http.put(sim.url(LOAD), json=BASE, timeout=10)
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST, DELETE"
    assert sim.http.get(sim.url(f"{LOAD}/l1"), timeout=10).status_code == 405


@pytest.mark.slow  # a simulator process of its own, and 1-2 minutes of wall clock (see below)
def test_a_live_raise_lowers_the_utilisation_of_the_same_demand(tmp_path: Path) -> None:
    """Through the API: modify the bandwidth, let the Update finish, read the minutes after it."""
    tenant, vpn, service_id = "nbitest_15", "0S2DC5201705071256", "FbqROiHgSyGhZpzJPXH_BA"
    with start_simulator(tmp_path) as own:  # its own presets: the shared ones keep their bandwidth
        assert service(own, tenant, service_id)["Bandwidth"] == "40000"
        now = int(time.time())
        add_load(own, tenant=tenant, connection=vpn, rate_bps=30_000_000, start=now - 1800)
        before = values(own, now - 1200, now, tenant=tenant, vpn=vpn)
        assert len(before) >= 19 and all(near(v, 75) for v in before.values())
        change = {"service": {"parameters": {"Site2DCList": [
            {"CloudVpnName": vpn, "Bandwidth": "80000", "action": "modify"}]}}}
        answer = own.call("PUT", f"{SERVICES}/{service_id}", tenant, json=change)
        assert answer.status_code == 202, answer.text
        op = wait_done(own, tenant, service_id, answer.json()["operation_id"])
        assert op["result"] == "success"
        changed = op["finished_at"] // 1000
        first = -(-changed // 60) * 60  # the first minute that starts at the new bandwidth
        # Traffic answers complete minutes only: that minute must be over, up to two minutes from
        # the raise. No shortcut: the simulator's clock is the wall clock.
        time.sleep(max(0.0, first + 61 - time.time()))
        after = values(own, first, first + 60, tenant=tenant, vpn=vpn)
        assert list(after) == [first] and near(after[first], 37.5)
        assert after[first] / statistics.median(before.values()) == pytest.approx(0.5, abs=0.03)
        rate = values(own, first, first + 60, tenant=tenant, vpn=vpn, metric="traffic-rate")
        assert near(rate[first], 30_000_000), "the same demand"


@pytest.mark.slow  # a simulator process of its own
def test_it_answers_only_loopback_or_the_admin_key(tmp_path: Path) -> None:
    env = {"IES_SIM_ADMIN_KEY": "s3cret-key", "IES_SIM_TRUST_LOOPBACK": "0"}
    with start_simulator(tmp_path, env=env) as own:
        for method, path in (("GET", LOAD), ("POST", LOAD), ("DELETE", LOAD), ("DELETE", f"{LOAD}/l1")):
            answer = requests.request(method, own.url(path), json=BASE, timeout=10)
            assert_ies_error(answer, 403, "servicemgr.permission_denied", "X-Sim-Key")
        wrong = requests.post(own.url(LOAD), json=BASE, headers={"X-Sim-Key": "wrong"}, timeout=10)
        assert wrong.status_code == 403
        assert add_load(own, **BASE)["id"] == "l1"  # own.http sends the key
        assert [r["id"] for r in rules(own)] == ["l1"]
