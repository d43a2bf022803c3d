"""traffic:csv — exactly what the chart shows, with units and zone."""

import csv
import io

import pytest
from django.urls import reverse

from .conftest import USER1_CONNECTION

pytestmark = pytest.mark.django_db


def test_it_exports_the_points_the_chart_shows(login, mirrored):
    client = login("user1")
    body = client.get(reverse("traffic:data", args=[USER1_CONNECTION]),
                      {"start": "2017-05-08 00:00", "end": "2017-05-20 00:00", "width": "300"}).json()
    answer = client.get(body["csv_url"])
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == (
        f'attachment; filename="{USER1_CONNECTION}_20170508-0000_20170520-0000_hour-max.csv"')
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == ["time (ISO 8601, Asia/Shanghai)", "inbound rate (bit/s)", "outbound rate (bit/s)",
                       "bandwidth in force (bit/s)", "inbound utilisation (%)", "outbound utilisation (%)"]
    data = rows[1:]
    assert len(data) == body["shown"]
    assert [r[0] for r in data][:2] == ["2017-05-08T00:00:00+08:00", "2017-05-08T01:00:00+08:00"] or \
        data[0][0].endswith("+08:00")
    assert [int(r[1]) if r[1] else None for r in data] == body["in"]
    assert [int(r[2]) if r[2] else None for r in data] == body["out"]
    # The bandwidth column steps as the chart's line does, and utilisation is rate ÷ bandwidth.
    assert {r[3] for r in data} == {"20000000", "50000000", "80000000"}
    for r in data:
        if r[2]:
            assert abs(float(r[5]) - int(r[2]) / int(r[3]) * 100) < 0.006


def test_a_bad_range_is_a_400_with_its_message(login, mirrored):
    answer = login("user1").get(reverse("traffic:csv", args=[USER1_CONNECTION]), {"start": "nonsense"})
    assert answer.status_code == 400 and "Enter the start" in answer.content.decode()


def test_another_tenants_connection_is_404(login, mirrored):
    assert login("user2").get(reverse("traffic:csv", args=[USER1_CONNECTION]), {"range": "1h"}).status_code == 404


def test_an_ies_failure_is_a_502_in_words(login, mirrored, sim):
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    answer = login("user1").get(reverse("traffic:csv", args=[USER1_CONNECTION]), {"range": "1h"})
    assert answer.status_code == 502 and "IES is not answering" in answer.content.decode()


def test_the_file_is_cut_where_the_chart_it_was_asked_from_ended(login, mirrored):
    """IES adds the newest minutes as they close: a file downloaded a minute after the chart was
    drawn still holds the chart's points, none that came later."""
    client = login("user1")
    body = client.get(reverse("traffic:data", args=[USER1_CONNECTION]),
                      {"start": "2017-05-10 00:00", "end": "2017-05-10 02:00", "timedim": "minute",
                       "width": "1000"}).json()
    assert body["shown"] == 120 and not body["downsampled"]
    # As if the chart had been drawn when IES knew the first 45 minutes only.
    until = body["range"]["start"] + 45 * 60
    query = {**body["range"]["query"], "width": "1000", "until": str(until)}
    answer = client.get(reverse("traffic:csv", args=[USER1_CONNECTION]), query)
    assert answer.status_code == 200
    data = list(csv.reader(io.StringIO(answer.content.decode())))[1:]
    assert len(data) == 45
    assert data[-1][0] == "2017-05-10T00:44:00+08:00"
    assert [int(r[1]) for r in data] == body["in"][:45]


def test_a_live_chart_links_a_file_cut_at_its_newest_value(login, mirrored):
    client = login("user1")
    body = client.get(reverse("traffic:data", args=[USER1_CONNECTION]), {"range": "1h"}).json()
    newest = body["t0"] + (body["k"][-1] + 1) * body["range"]["interval"]
    if newest < body["range"]["end"]:
        assert f"until={newest}" in body["csv_url"]
    else:
        assert "until=" not in body["csv_url"]
    rows = list(csv.reader(io.StringIO(client.get(body["csv_url"]).content.decode())))
    assert len(rows) - 1 == body["shown"]


@pytest.mark.parametrize("until", ["x", "-5", "１２３", "1494345599", "99999999999999999999"])
def test_an_end_of_data_outside_the_range_is_a_400(login, mirrored, until):
    answer = login("user1").get(reverse("traffic:csv", args=[USER1_CONNECTION]),
                                {"start": "2017-05-10 00:00", "end": "2017-05-10 02:00", "until": until})
    assert answer.status_code == 400 and "not a time within the range" in answer.content.decode()
