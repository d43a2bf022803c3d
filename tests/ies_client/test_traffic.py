"""Traffic through the client: both metrics, time bounds as datetimes or Unix seconds, refusals."""

from datetime import UTC, datetime, timedelta

import pytest

from ies_client.errors import IESNotFound, IESValidationError

from .conftest import PRESET_SERVICES

VPN = PRESET_SERVICES["nbitest_11"][2]
DECK_START, DECK_END = 1493367320, 1495058150  # the deck's example window, ~20 days


def test_it_reads_a_day_of_traffic_by_the_minute(client):
    start = datetime(2017, 5, 10, tzinfo=UTC)
    series = client.get_traffic(VPN, start=start, end=start + timedelta(days=1))
    assert (series.connection, series.metric, series.unit) == (VPN, "traffic-rate", "bit/s")
    assert (series.timedim, series.direction, series.indicator, series.interval_s) == ("minute", "outbound", "max", 60)
    assert len(series.points) == 1440
    times = [t for t, _ in series.points]
    assert times == sorted(times) and times[0] == int(start.timestamp()) and all(t % 60 == 0 for t in times)
    assert all(isinstance(t, int) and isinstance(v, float) and v >= 0 for t, v in series.points)
    bandwidth_bits = client.get_service(PRESET_SERVICES["nbitest_11"][0]).bandwidth_kbps * 1000
    assert max(series.values()) <= bandwidth_bits  # never above the line rate


def test_it_reads_utilisation_by_the_hour_over_the_decks_window(client):
    series = client.get_traffic(VPN, metric="bandwidth-utilization", start=DECK_START, end=DECK_END,
                                timedim="hour", direction="inbound", indicator="avg")
    assert series.unit == "%" and series.interval_s == 3600 and series.direction == "inbound"
    assert all(0 <= v <= 100 for v in series.values()) and max(series.values()) > 0
    assert (series.start, series.end) == (DECK_START, DECK_END)
    # No bucket before the connection was created (the preset's create ended 2017-05-06 06:43 UTC).
    created = client.get_service(PRESET_SERVICES["nbitest_11"][0]).created_at
    first_hour = int(created.timestamp()) // 3600 * 3600
    assert series.points[0][0] >= first_hour and len(series) == (DECK_END // 3600 * 3600 - series.points[0][0]) // 3600 + 1


def test_before_the_connection_existed_there_are_no_points(client):
    series = client.get_traffic(VPN, start=datetime(2016, 1, 1, tzinfo=UTC), end=datetime(2016, 1, 2, tzinfo=UTC))
    assert series.points == ()


def test_an_unknown_connection_is_not_found(client):
    with pytest.raises(IESNotFound):
        client.get_traffic("NOSUCHVPN", start=DECK_START, end=DECK_START + 3600)


def test_another_tenants_connection_is_not_found(client):
    with pytest.raises(IESNotFound):
        client.get_traffic(PRESET_SERVICES["nbitest_12"][2], start=DECK_START, end=DECK_START + 3600)


def test_more_than_a_month_by_the_minute_is_refused_with_the_field_named(client):
    with pytest.raises(IESValidationError) as info:
        client.get_traffic(VPN, start=DECK_START, end=DECK_START + 32 * 86400)
    assert info.value.status == 400 and info.value.field_errors


def test_an_end_before_the_start_is_refused(client):
    with pytest.raises(IESValidationError):
        client.get_traffic(VPN, start=DECK_START, end=DECK_START - 60)


def test_it_refuses_naive_datetimes_and_unknown_metrics_before_asking(client):
    with pytest.raises(ValueError):
        client.get_traffic(VPN, start=datetime(2017, 5, 10), end=datetime(2017, 5, 11))
    with pytest.raises(ValueError):
        client.get_traffic(VPN, metric="packets", start=DECK_START, end=DECK_END)
