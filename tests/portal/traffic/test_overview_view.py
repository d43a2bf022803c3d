"""traffic:overview — one small chart per connection of the tenant, busiest first."""

import json
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def cards_of(page):
    return re.findall(r'<h2><a href="/traffic/([^/]+)/\?range=', page.text)


def test_it_lists_the_tenants_connections_and_no_others(traffic_tenant, login, sim):
    # Three connections of one tenant; a fourth of another tenant must not appear.
    for name, kbps in (("OVQUIET", 10_000_000), ("OVBUSY", 1000), ("OVMID", 100_000)):
        traffic_tenant.create_service(cloud_vpn_name=name, kbps=kbps)
    traffic_tenant.sync()
    page = login(traffic_tenant.username).get(reverse("traffic:overview"), {"range": "1h"})
    assert page.status_code == 200
    names = cards_of(page)
    assert set(names) == {"OVQUIET", "OVBUSY", "OVMID"}
    config = json.loads(re.search(r'id="traffic-overview-config" type="application/json">(.*?)</script>',
                                  page.text, re.S).group(1))
    assert len(config["cards"]) == 3 and config["tz"] == "Asia/Shanghai"


def test_the_busiest_connection_comes_first(login, mirrored):
    page = login("user1").get(reverse("traffic:overview"), {"range": "24h"})
    assert cards_of(page) == ["VPNS2S201705061433"]
    assert re.search(r"peak \d+(\.\d)? %", page.text)


def test_cards_are_sorted_by_peak_utilisation(mirrored, monkeypatch):
    """The order alone, with utilisations made up at the portal's own IES seam (the simulator's
    preset tenants have one connection each, and a new connection has no history yet)."""
    from ies_client.errors import IESNotFound
    from ies_client.models import TrafficSeries
    from portal.services.models import Service
    from portal.tenants.models import Tenant
    from portal.traffic import selectors, series

    peaks = {"CONN_A": 20.0, "CONN_B": 95.5, "CONN_C": 50.0}

    def made_up(client, spec, start, end):
        if spec.connection not in peaks:
            raise IESNotFound()
        points = tuple((t, peaks[spec.connection] / (2 if spec.direction == "inbound" else 1))
                       for t in range(start, end, spec.interval))
        return TrafficSeries(spec.connection, spec.metric, spec.direction, spec.timedim, spec.indicator, "%",
                             spec.interval, points)

    monkeypatch.setattr(series, "ies_get_traffic", made_up)
    tenant = Tenant.objects.get(name="nbitest_11")
    services = [Service(tenant=tenant, name=n.lower(), cloud_vpn_name=n, ies_service_id=n)
                for n in ("CONN_A", "CONN_D", "CONN_B", "CONN_C")]
    overview = selectors.overview_for_tenant(tenant=tenant, services=services, preset="24h", indicator="max",
                                             now=1_700_000_000)
    assert [c.service.cloud_vpn_name for c in overview.cards] == ["CONN_B", "CONN_C", "CONN_A", "CONN_D"]
    assert [c.peak_util for c in overview.cards] == [95.5, 50.0, 20.0, None]


def test_an_ies_failure_is_shown_per_card_not_as_an_error_page(login, mirrored, sim):
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    page = login("user1").get(reverse("traffic:overview"))
    assert page.status_code == 200
    assert "IES is not answering right now." in page.text


def test_a_user_without_tenant_sees_the_no_tenant_page(db, client, presets):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("lonely", password="pw-lonely-123")
    client.login(username="lonely", password="pw-lonely-123")
    assert client.get(reverse("traffic:overview")).status_code == 200
