"""traffic:connection — the chart page of one connection."""

import json
import re

import pytest
from django.urls import reverse

from portal.tenants.models import Membership, Role

from .conftest import USER1_CONNECTION

pytestmark = pytest.mark.django_db


def page_url(name=USER1_CONNECTION):
    return reverse("traffic:connection", args=[name])


def config_of(page) -> dict:
    raw = re.search(r'<script id="traffic-config" type="application/json">(.*?)</script>', page.text, re.S).group(1)
    return json.loads(raw)


def test_it_renders_the_chart_shell_with_its_range_in_the_url(login, mirrored, ies_calls):
    page = login("user1").get(page_url(), {"range": "7d", "indicator": "avg"})
    assert page.status_code == 200
    assert "Traffic of VPNS2S201705061433" in page.text
    assert "uPlot-1.6.32.iife.min.js" in page.text and "js/traffic.js" in page.text and "css/traffic.css" in page.text
    config = config_of(page)
    assert config["dataUrl"] == reverse("traffic:data", args=[USER1_CONNECTION])
    assert config["query"] == {"range": "7d", "indicator": "avg"} and config["live"] is True
    assert config["texts"]["inbound"] == "Inbound"
    assert 'aria-current="true" data-preset="7d"' in page.text
    assert "Times are shown in Asia/Shanghai (UTC+08:00)" in page.text
    assert "Average per hour" in page.text
    # The page itself asks IES nothing: the chart's data comes from data.json.
    assert len(ies_calls) == 0


def test_a_custom_range_fills_the_form(login, mirrored):
    page = login("user1").get(page_url(), {"start": "2017-05-10 09:00", "end": "2017-05-10 12:00",
                                           "timedim": "minute"})
    assert 'name="start" value="2017-05-10T09:00"' in page.text
    assert 'name="end" value="2017-05-10T12:00"' in page.text
    assert '<option value="minute" selected>' in page.text
    assert config_of(page)["live"] is False


def test_a_bad_range_is_shown_with_its_message_not_an_error_page(login, mirrored):
    page = login("user1").get(page_url(), {"start": "2017-05-10 12:00", "end": "2017-05-10 09:00"})
    assert page.status_code == 400
    assert 'id="traffic-range-error"' in page.text and "The end must be later than the start." in page.text
    assert 'name="start"' in page.text  # the form is there to correct it
    assert 'id="traffic-config"' not in page.text


def test_another_tenants_connection_is_404(login, mirrored):
    assert login("user2").get(page_url()).status_code == 404


def test_it_answers_only_get(login, mirrored):
    from django.test import Client

    from tests.portal.conftest import DEMO_PASSWORD

    client = Client()
    client.login(username="user1", password=DEMO_PASSWORD)
    assert client.post(page_url()).status_code == 405


def test_a_viewer_sees_the_suggestion_but_no_scale_button(login, mirrored):
    Membership.objects.filter(user__username="user3").update(role=Role.VIEWER)
    html = login("user3").get(reverse("traffic:data", args=["0S2DC201705071132"]), {"range": "1h"}).json()[
        "stats_html"]
    assert "95 % of the time shown" in html
    assert "suggested_kbps" not in html and "read-only" in html


def test_the_nav_links_to_traffic(login, mirrored):
    page = login("user1").get(reverse("traffic:overview"))
    assert re.search(r'<a href="/traffic/"\s+aria-current="page">Traffic</a>', page.text)
