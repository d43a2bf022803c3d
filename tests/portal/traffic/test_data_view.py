"""traffic:data — the chart's JSON, against the live simulator."""

import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.urls import reverse

from portal.traffic import ranges

from .conftest import USER1_CONNECTION, USER2_CONNECTION

pytestmark = pytest.mark.django_db

SHANGHAI = timezone(timedelta(hours=8))
# VPNS2S201705061433's bandwidth (docs/ies-simulator.md presets): 20 → 50 Mbit/s on 2017-05-10 10:12,
# → 80 Mbit/s on 2017-05-15 16:40 (Asia/Shanghai), each an Update in its operation log.
FIRST_CHANGE = int(datetime(2017, 5, 10, 10, 12, tzinfo=SHANGHAI).timestamp())
SECOND_CHANGE = int(datetime(2017, 5, 15, 16, 40, tzinfo=SHANGHAI).timestamp())


def data_url(name=USER1_CONNECTION):
    return reverse("traffic:data", args=[name])


def get(client, name=USER1_CONNECTION, **params):
    params.setdefault("width", "1000")
    return client.get(data_url(name), params)


def raw_points(sim, *, start, end, direction="outbound", timedim="minute", indicator="max", tenant="nbitest_11",
               metric="traffic-rate", name=USER1_CONNECTION):
    """The simulator's own answer, without the portal."""
    answer = sim.call("GET", f"/cloudvpnwatch/v1/traffic/connections/{name}/{metric}", tenant=tenant,
                      params={"starttime": start, "endtime": end, "timedim": timedim, "direction": direction,
                              "indicator": indicator})
    assert answer.status_code == 200, answer.text
    return answer.json()["points"]


def test_it_answers_the_rate_in_bit_per_second_with_the_unit_the_values_need(login, mirrored):
    answer = get(login("user1"), range="24h")
    assert answer.status_code == 200
    body = answer.json()
    assert body["connection"] == USER1_CONNECTION
    assert body["unit"] == {"name": "Mbit/s", "factor": 1e6}  # 80 Mbit/s line: Mbit/s, not kbit/s
    assert body["range"]["timedim"] == "minute" and body["range"]["live"] is True
    assert 1438 <= body["points"] <= 1441  # a day by the minute (the newest minute may be open)
    assert all(isinstance(v, int) for v in body["out"] if v is not None)
    assert max(v for v in body["out"] if v is not None) <= 80_000_000
    assert body["bw"] == [[body["range"]["start"], 80000]]
    assert "Mbit/s" in body["stats_html"] and "p95" in body["stats_html"]
    assert {"private", "no-cache", "no-store"} <= {p.strip() for p in answer["Cache-Control"].split(",")}


def test_times_are_in_the_portal_time_zone_and_shown_with_it(login, mirrored):
    body = get(login("user1"), start="2017-05-10 09:00", end="2017-05-10T12:00").json()
    assert body["range"]["start"] == int(datetime(2017, 5, 10, 1, 0, tzinfo=UTC).timestamp())
    assert body["range"]["start_iso"] == "2017-05-10T09:00:00+08:00"
    assert body["tz"] == {"name": "Asia/Shanghai", "label": "Asia/Shanghai (UTC+08:00)",
                          "abbreviations": {"+08:00": "CST"}}
    assert body["range"]["live"] is False and body["points"] == 180


def test_a_time_with_an_offset_or_in_epoch_seconds_is_taken_as_it_is(login, mirrored):
    client = login("user1")
    with_offset = get(client, start="2017-05-10T01:00:00+00:00", end="2017-05-10T04:00:00+00:00").json()
    epoch = get(client, start=str(with_offset["range"]["start"]), end=str(with_offset["range"]["end"])).json()
    assert with_offset["range"]["start_iso"] == "2017-05-10T09:00:00+08:00"
    assert (epoch["range"], epoch["in"]) == (with_offset["range"], with_offset["in"])


def test_another_time_zone_setting_moves_every_time(login, mirrored, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    body = get(login("user1"), start="2017-05-10 09:00", end="2017-05-10 12:00").json()
    assert body["range"]["start_iso"] == "2017-05-10T09:00:00+02:00"
    assert body["tz"]["label"] == "Europe/Berlin (UTC+02:00)"
    # Both sides of the summer-time change, named as Django's date:"T" names them.
    assert body["tz"]["abbreviations"] == {"+02:00": "CEST", "+01:00": "CET"}


@pytest.mark.parametrize(("query", "timedim"), [
    ({"range": "1h"}, "minute"),
    ({"range": "24h"}, "minute"),
    ({"range": "7d"}, "hour"),
    ({"range": "30d"}, "hour"),
    ({"start": "2017-05-01", "end": "2017-08-01"}, "day"),
    ({"range": "24h", "timedim": "hour"}, "hour"),
    ({"range": "7d", "timedim": "minute"}, "minute"),
])
def test_the_timedim_follows_the_range_unless_asked(login, mirrored, query, timedim):
    body = get(login("user1"), **query).json()
    assert body["range"]["timedim"] == timedim
    assert body["range"]["timedim_auto"] is ("timedim" not in query)


def test_the_indicator_is_asked_from_ies(login, mirrored, ies_calls):
    body = get(login("user1"), range="1h", indicator="min").json()
    assert body["range"]["indicator"] == "min"
    assert {spec.indicator for spec, _, _ in ies_calls.calls} == {"min"}


def test_a_range_longer_than_one_ies_answer_is_split_into_several_calls(login, mirrored, ies_calls):
    # 40 days by the minute: 57,600 buckets, more than the 44,640 IES answers at once.
    end = int(datetime(2017, 7, 1, tzinfo=SHANGHAI).timestamp())
    answer = get(login("user1"), start=str(end - 40 * 86400), end=str(end), timedim="minute")
    assert answer.status_code == 200
    body = answer.json()
    assert body["range"]["timedim"] == "minute" and body["points"] == 40 * 1440
    rate_calls = ies_calls.matching(metric="traffic-rate", timedim="minute", direction="outbound")
    assert len(rate_calls) == 2
    assert all((b - a) // 60 <= ranges.MAX_BUCKETS_PER_CALL for _, a, b in rate_calls)


def test_a_range_too_long_even_for_several_calls_is_coarsened_with_a_note(login, mirrored):
    end = int(datetime(2018, 1, 1, tzinfo=SHANGHAI).timestamp())
    answer = get(login("user1"), start=str(end - 200 * 86400), end=str(end), timedim="minute")
    assert answer.status_code == 200
    body = answer.json()
    assert body["range"]["timedim"] == "hour"
    assert any("per hour" in note for note in body["notes"])


def test_downsampling_keeps_the_peak_and_the_trough(login, mirrored, sim):
    end = int(datetime(2017, 6, 20, tzinfo=SHANGHAI).timestamp())
    start = end - 30 * 86400
    body = get(login("user1"), start=str(start), end=str(end), timedim="minute", width="200").json()
    assert body["points"] == 30 * 1440
    assert body["downsampled"] is True and body["shown"] <= 2 * 200 + 5
    raw = raw_points(sim, start=start, end=end)
    assert max(v for v in body["out"] if v is not None) == max(v for _, v in raw)
    assert min(v for v in body["out"] if v is not None) == min(v for _, v in raw)
    raw_in = raw_points(sim, start=start, end=end, direction="inbound")
    assert max(v for v in body["in"] if v is not None) == max(v for _, v in raw_in)
    # The figures come from every value, not from the thinned-out ones.
    assert f"data-figure=\"peak-out\">{_mbit(max(v for _, v in raw))}" in body["stats_html"]


def _mbit(bps):
    from portal.core.units import format_bits_per_second

    return format_bits_per_second(bps)


def test_a_range_that_fits_the_width_is_not_thinned_at_all(login, mirrored, sim):
    start = int(datetime(2017, 6, 1, 12, tzinfo=SHANGHAI).timestamp())
    body = get(login("user1"), start=str(start), end=str(start + 3600), width="800").json()
    raw = raw_points(sim, start=start, end=start + 3600)
    assert body["downsampled"] is False
    assert [body["t0"] + k * 60 for k in body["k"]] == [t for t, _ in raw]
    assert body["out"] == [int(v) for _, v in raw]


def test_a_refresh_asks_ies_only_for_the_newest_buckets(login, mirrored, ies_calls):
    client = login("user1")
    first = get(client, range="24h").json()
    assert ies_calls.buckets(metric="traffic-rate", timedim="minute", direction="outbound") >= 1440
    ies_calls.reset()
    second = get(client, range="24h").json()
    minute_calls = ies_calls.matching(timedim="minute")
    assert minute_calls, "the open minutes are always asked again"
    # Only the buckets that are not closed yet: those that ended less than SETTLE_S (2 minutes) ago,
    # and the open one (just after a full hour, that is the last hour too).
    assert all((b - a) // 60 <= 4 for _, a, b in minute_calls)
    assert all((b - a) // 3600 <= 2 for _, a, b in ies_calls.matching(timedim="hour"))
    # Closed buckets come from the cache and say the same as IES did.
    shift = (second["t0"] - first["t0"]) // 60
    common = {k - shift: v for k, v in zip(second["k"], second["out"], strict=True)}
    closed = [(k, v) for k, v in zip(first["k"], first["out"], strict=True) if k in common][:-4]
    assert closed and all(common[k] == v for k, v in closed)


def test_a_range_in_the_past_is_answered_from_the_cache_alone(login, mirrored, ies_calls):
    client = login("user1")
    query = {"start": "2017-06-01 00:00", "end": "2017-06-08 00:00", "timedim": "minute"}
    first = get(client, **query).json()
    assert len(ies_calls) > 0
    ies_calls.reset()
    second = get(client, **query).json()
    assert len(ies_calls) == 0
    assert (second["in"], second["out"], second["bw"]) == (first["in"], first["out"], first["bw"])


def test_the_bandwidth_in_force_steps_where_the_operation_log_says(login, mirrored):
    body = get(login("user1"), start="2017-05-08 00:00", end="2017-05-20 00:00").json()
    assert body["bw"] == [[body["range"]["start"], 20000], [FIRST_CHANGE, 50000], [SECOND_CHANGE, 80000]]
    # Utilisation never exceeds 100 % against it: the rate is capped by the bandwidth then in force
    # (in the hour of a change, the larger of the two).
    x = [body["t0"] + k * 3600 for k in body["k"]]
    for t, rate in zip(x, body["out"], strict=True):
        in_force = [v for at, v in body["bw"] if at <= t][-1:] + [v for at, v in body["bw"] if t < at < t + 3600]
        kbps = max(in_force)
        assert rate is None or rate <= kbps * 1000


def test_without_an_operation_log_the_steps_come_from_the_data(login, mirrored, sim):
    sim.add_fault(kind="no_operations_endpoint")
    body = get(login("user1"), start="2017-05-08 00:00", end="2017-05-20 00:00").json()
    values = [kbps for _, kbps in body["bw"]]
    assert values == [20000, 50000, 80000]
    # Placed to the hour: within one hour of the true change.
    assert 0 <= FIRST_CHANGE - body["bw"][1][0] < 3600
    assert 0 <= SECOND_CHANGE - body["bw"][2][0] < 3600


def test_it_suggests_a_bandwidth_from_the_p95_with_headroom(login, mirrored):
    body = get(login("user1"), range="24h").json()
    html = body["stats_html"]
    # The exact window goes along to the editor, which shows the figures the suggestion came from.
    assert re.search(r'/services/8hiqoNgCSZmrlD1MyROJbg/bandwidth/\?start=\d+&amp;end=\d+&amp;timedim=minute'
                     r'&amp;indicator=max&amp;suggested_kbps=\d+"', html)
    kbps = int(html.split("suggested_kbps=")[1].split('"')[0])
    assert kbps % 1000 == 0 and 1000 <= kbps <= 10_000_000
    assert "95 % of the time shown" in html and "÷ 0.7" in html


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"start": "2017-05-10 12:00", "end": "2017-05-10 09:00"}, "end", "The end must be later than the start."),
    ({"start": "yesterday"}, "start", "Enter the start as a date and time"),
    ({"start": "2017-05-10", "end": "soon"}, "end", "Enter the end as a date and time"),
    ({"start": "1999-12-31"}, "start", "from before 2000"),
    ({"start": "2099-01-01"}, "start", "The start lies in the future."),
    ({"start": "2010-01-01", "end": "2017-01-01"}, "start", "at most five years"),
    ({"start": "2017-05-10 09:00", "end": "2017-05-10 09:01"}, "end", "at least two minutes"),
    ({"range": "2w"}, "range", "Choose one of the ranges offered"),
    ({"range": "1h", "timedim": "second"}, "timedim", "Choose automatic"),
    ({"range": "1h", "indicator": "p99"}, "indicator", "Choose maximum, average or minimum."),
])
def test_bad_ranges_are_rejected_with_a_message(login, mirrored, ies_calls, query, field, message):
    answer = get(login("user1"), **query)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["field"] == field and message in error["problem"]
    assert len(ies_calls) == 0


def test_a_range_reaching_into_the_future_ends_now(login, mirrored):
    now = int(time.time())
    body = get(login("user1"), start=str(now - 3600), end=str(now + 86400)).json()
    assert body["range"]["end"] <= now + 60 and body["range"]["live"] is True


def test_another_tenants_connection_is_404(login, mirrored, ies_calls):
    client = login("user2")  # nbitest_12
    assert get(client, name=USER1_CONNECTION, range="1h").status_code == 404
    assert get(client, name="NoSuchConnection", range="1h").status_code == 404
    assert get(client, name=USER2_CONNECTION, range="1h").status_code == 200
    assert not [c for c in ies_calls.calls if c[0].connection == USER1_CONNECTION]


def test_it_needs_a_login(client, mirrored):
    answer = client.get(data_url(), {"range": "1h"})
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_it_answers_only_get(login, mirrored):
    assert login("user1").post(data_url(), {"range": "1h"}).status_code in (403, 405)  # CSRF first, then 405
    from django.test import Client

    from tests.portal.conftest import DEMO_PASSWORD

    lax = Client()
    lax.login(username="user1", password=DEMO_PASSWORD)
    assert lax.post(data_url(), {"range": "1h"}).status_code == 405


def test_an_ies_error_is_a_502_that_says_what_failed(login, mirrored, sim):
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    answer = get(login("user1"), range="1h")
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["problem"] == "IES is not answering right now."
    assert error["advice"] == "Try again in a minute."
    assert USER1_CONNECTION in error["what"]


def test_an_expired_token_says_so(login, mirrored, sim):
    sim.add_fault(kind="expire_token", tenant="nbitest_11")
    answer = get(login("user1"), range="1h")
    assert answer.status_code == 502
    assert "token" in answer.json()["error"]["problem"]


def test_a_new_connection_without_values_is_empty_not_an_error(traffic_tenant, login):
    traffic_tenant.create_service(cloud_vpn_name="NEWVPN1")
    traffic_tenant.sync()
    answer = get(login(traffic_tenant.username), name="NEWVPN1", range="1h")
    assert answer.status_code == 200
    body = answer.json()
    assert body["empty"] is True and body["points"] == 0 and body["k"] == []
    assert body["bw"] == [[body["range"]["start"], 60000]]  # the configured bandwidth, from the mirror
    assert "No values in this range yet." in body["stats_html"]


def test_a_deleted_services_history_stays_viewable(traffic_tenant, login):
    service_id = traffic_tenant.create_service(cloud_vpn_name="GONEVPN1")
    traffic_tenant.sync()
    traffic_tenant.wait(traffic_tenant.client.delete_service(service_id), "Delete")
    traffic_tenant.sync()
    from portal.services.models import Service

    gone_at = Service.objects.get(ies_service_id=service_id).gone_at
    assert gone_at is not None
    client = login(traffic_tenant.username)
    answer = get(client, name="GONEVPN1", range="1h")
    assert answer.status_code == 200
    body = answer.json()
    # Presets count back from the deletion, and a deleted service's chart does not refresh itself.
    assert body["gone"] is True and body["range"]["live"] is False
    assert gone_at.timestamp() <= body["range"]["end"] <= gone_at.timestamp() + 60
    assert "suggested_kbps" not in body["stats_html"]
    assert "can no longer be changed" in body["stats_html"]
    page = client.get(reverse("traffic:connection", args=["GONEVPN1"]))
    assert page.status_code == 200 and "This service has been deleted." in page.text


def test_a_tenant_without_a_token_is_told_so(login, mirrored):
    from portal.tenants.models import Tenant

    Tenant.objects.filter(name="nbitest_11").update(token_encrypted="", bearer_encrypted="")
    answer = get(login("user1"), range="1h")
    assert answer.status_code == 502
    assert answer.json()["error"]["problem"] == "This tenant has no IES token yet."
