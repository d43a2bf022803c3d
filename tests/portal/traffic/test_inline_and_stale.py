"""The chart page carries its chart when the cache holds it; a chart (or the bandwidth editor's
figures) drawn from the cache alone says when its values were read from IES, and that they are
older than usual when they are."""

import json
import re
import time
from html import unescape

import pytest
from django.urls import reverse

from portal.services.models import Service
from portal.tenants.models import Tenant
from portal.traffic import ranges, selectors

from .conftest import USER1_CONNECTION

pytestmark = pytest.mark.django_db

PAST = {"start": "2017-05-10 09:00", "end": "2017-05-10 12:00", "timedim": "minute"}


def page_url():
    return reverse("traffic:connection", args=[USER1_CONNECTION])


def initial_of(page) -> dict | None:
    found = re.search(r'<script id="traffic-initial" type="application/json">(.*?)</script>', page.text, re.S)
    return json.loads(found.group(1)) if found else None


def user1_chart(query: dict, now: int) -> selectors.Chart:
    """The chart of user1's connection as the page reads it at ``now`` (a chart read earlier stores
    its closed buckets, with the moment IES gave them)."""
    service = Service.objects.get(cloud_vpn_name=USER1_CONNECTION)
    return selectors.chart_for_connection(tenant=Tenant.objects.get(name="nbitest_11"), service=service,
                                          trange=ranges.parse(query, now=now), width=800, now=now)


def test_a_chart_the_cache_holds_comes_inline_with_its_figures(login, mirrored, ies_calls):
    client = login("user1")
    assert client.get(reverse("traffic:data", args=[USER1_CONNECTION]), PAST).status_code == 200
    ies_calls.reset()
    page = client.get(page_url(), PAST)
    initial = initial_of(page)
    assert initial is not None and initial["connection"] == USER1_CONNECTION
    assert initial["shown"] == len(initial["k"]) == len(initial["in"]) > 0
    assert initial["csv_url"].startswith(reverse("traffic:csv", args=[USER1_CONNECTION]))
    # The figures are in the page already: the script draws without another request.
    assert 'data-figure="peak-out"' in page.text and "stats_html" not in initial
    assert len(ies_calls) == 0


def test_a_live_chart_comes_inline_asking_ies_only_the_newest_buckets(login, mirrored, ies_calls):
    client = login("user1")
    client.get(reverse("traffic:data", args=[USER1_CONNECTION]), {"range": "24h"})
    ies_calls.reset()
    assert initial_of(client.get(page_url(), {"range": "24h"})) is not None
    assert ies_calls.buckets(timedim="minute") <= 2 * 60


def test_a_cold_cache_leaves_the_page_a_shell_that_asks_ies_nothing(login, mirrored, ies_calls):
    page = login("user1").get(page_url(), {"range": "24h"})
    assert page.status_code == 200 and initial_of(page) is None
    assert "The figures appear with the chart." in page.text
    assert len(ies_calls) == 0


def test_the_inline_chart_is_thinned_for_the_width_the_browser_draws_at(login, mirrored):
    client = login("user1")
    client.get(reverse("traffic:data", args=[USER1_CONNECTION]), PAST)
    client.cookies["traffic_width"] = "300"
    initial = initial_of(client.get(page_url(), PAST))
    assert initial["width"] == 300 and initial["shown"] <= 2 * 300 + 2


def test_a_chart_from_the_cache_alone_says_when_ies_gave_it_and_that_it_is_older_than_usual(mirrored, sim):
    now = int(time.time())
    read = now - 600
    user1_chart({"range": "1h"}, read)
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    stale = user1_chart({"range": "1h"}, now).stale
    assert stale is not None and stale.read_at == read and stale.older_than_usual
    when = selectors.epoch_label(read, seconds=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CST", when)
    assert f"as read from IES at {when}" in stale.label and "That is older than usual." in stale.label
    assert stale.meta == f"Read from IES at {when} · older than usual"
    assert "Updated" not in stale.meta


def test_a_chart_read_a_moment_ago_is_not_called_older_than_usual(mirrored, sim):
    now = int(time.time())
    user1_chart({"range": "1h"}, now - 30)
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    stale = user1_chart({"range": "1h"}, now).stale
    assert stale is not None and stale.read_at == now - 30 and not stale.older_than_usual
    assert "older" not in stale.label and stale.meta.startswith("Read from IES at ")


def test_the_page_and_data_json_say_when_the_cached_values_were_read(login, mirrored, sim):
    now = int(time.time())
    user1_chart({"range": "1h"}, now - 900)
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    client = login("user1")
    when = selectors.epoch_label(now - 900, seconds=True)
    page = client.get(page_url(), {"range": "1h"})
    stale = initial_of(page)["stale"]
    assert stale["read_at"] == now - 900 and stale["older_than_usual"] is True
    notice = unescape(re.search(r'<div class="notice" role="status" data-stale>(.*?)</div>', page.text, re.S).group(1))
    assert f"as read from IES at {when}" in notice and "That is older than usual." in notice
    body = client.get(reverse("traffic:data", args=[USER1_CONNECTION]), {"range": "1h"}).json()
    assert body["stale"]["meta"] == f"Read from IES at {when} · older than usual"


def test_the_bandwidth_editor_says_its_figures_are_cached_while_ies_is_unavailable(login, mirrored, sim):
    now = int(time.time())
    user1_chart({"range": "7d"}, now - 900)  # the editor's window: the last 7 days by the hour
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    service = Service.objects.get(cloud_vpn_name=USER1_CONNECTION)
    page = login("user1").get(reverse("services:bandwidth", args=[service.ies_service_id]))
    assert page.status_code == 200
    figures = re.search(r'data-testid="window-figures">(.*?)</p>', page.text, re.S).group(1)
    assert "peak" in figures  # the figures are shown …
    note = unescape(re.search(r'data-testid="cached-figures">(.*?)</p>', page.text, re.S).group(1))
    when = selectors.epoch_label(now - 900, seconds=True)
    # … and said to be the cached ones, from when, and older than usual.
    assert note.startswith("IES is not answering: these figures come from the traffic last read from IES, at "
                           f"{when}") and note.endswith("That is older than usual.")


def test_the_bandwidth_editor_says_nothing_of_the_cache_while_ies_answers(login, mirrored):
    service = Service.objects.get(cloud_vpn_name=USER1_CONNECTION)
    page = login("user1").get(reverse("services:bandwidth", args=[service.ies_service_id]))
    assert 'data-testid="window-figures"' in page.text and 'data-testid="cached-figures"' not in page.text
