"""The traffic chart in a real Chromium: it draws, its tooltip shows a value with its unit, the CSV
downloads with what the chart shows."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import clear_session_cache
from tests.e2e.helpers import log_in, switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONNECTION = "VPNS2S201705061433"  # user1's preset connection (nbitest_11)


@pytest.fixture(autouse=True)
def _cold_cache():
    clear_session_cache()


def open_chart(page, base: str, query: str = "range=24h"):
    log_in(page, base, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.goto(f"{base}/traffic/{CONNECTION}/?{query}")
    chart = page.locator("#traffic")
    expect(chart).to_have_attribute("data-drawn", "true")
    return chart


def test_it_draws_the_chart_and_the_figures(page, live_server, presets):
    chart = open_chart(page, live_server.url)
    expect(chart).to_have_attribute("data-state", "ready")
    expect(page.locator("#chart-rate canvas")).to_have_count(1)
    expect(page.locator("#chart-util canvas")).to_have_count(1)
    # The axis is labelled with the unit the values need.
    assert re.search(r"\([kMG]bit/s\)$", page.evaluate("window.trafficChart.plots[0].axes[1].label"))
    page.screenshot(path="/tmp/traffic-chart.png", full_page=True)
    expect(page.locator("[data-figure=peak-out]")).to_contain_text(re.compile(r"[kMG]bit/s"))
    expect(page.locator("#traffic-scale")).to_have_attribute(
        "href", re.compile(r"^/services/8hiqoNgCSZmrlD1MyROJbg/bandwidth/\?start=\d+&end=\d+&timedim=minute"
                           r"&indicator=max&suggested_kbps=\d+000$"))
    assert page.evaluate("performance.getEntriesByName('traffic:draw').length") == 1


def test_it_shows_a_tooltip_with_time_value_and_unit(page, live_server, presets):
    open_chart(page, live_server.url)
    over = page.locator("#chart-rate .u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    tip = page.locator("#chart-rate .traffic-tip")
    expect(tip).to_be_visible()
    # Local time of the portal's zone (Asia/Shanghai), written with the zone.
    expect(tip.locator(".traffic-tip-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d (GMT\+8|CST)$"))
    expect(tip).to_contain_text("Outbound")
    expect(tip.locator(".traffic-tip-value").first).to_have_text(re.compile(r"^\d+(\.\d+)? [kMG]bit/s$"))
    # The cursor is shared: the utilisation chart shows the same moment in percent.
    util_tip = page.locator("#chart-util .traffic-tip")
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5 + 1)
    expect(page.locator("#chart-util .u-cursor-x")).to_be_visible()
    util_box = page.locator("#chart-util .u-over").bounding_box()
    page.mouse.move(util_box["x"] + util_box["width"] * 0.3, util_box["y"] + 20)
    expect(util_tip.locator(".traffic-tip-value").first).to_have_text(re.compile(r"^\d+\.\d\d %$"))


def test_it_downloads_the_csv_of_what_is_shown(page, live_server, presets):
    open_chart(page, live_server.url, "range=1h")
    with page.expect_download() as info:
        page.locator("#traffic-csv").click()
    download = info.value
    assert download.suggested_filename.startswith(f"{CONNECTION}_") and download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0][0].startswith("time (ISO 8601, Asia/Shanghai)")
    assert rows[0][1] == "inbound rate (bit/s)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\+08:00", rows[1][0])
    shown = page.evaluate("window.trafficChart.data.k.length")
    assert len(rows) - 1 == shown


def test_it_downloads_a_png(page, live_server, presets):
    open_chart(page, live_server.url, "range=1h")
    with page.expect_download() as info:
        page.locator("#traffic-png").click()
    download = info.value
    assert download.suggested_filename.endswith(".png")
    assert open(download.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_dragging_zooms_in_and_puts_the_range_in_the_address(page, live_server, presets):
    open_chart(page, live_server.url, "range=24h")
    over = page.locator("#chart-rate .u-over")
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"range=custom&start=\d+&end=\d+"))
    expect(page.locator("#traffic")).to_have_attribute("data-state", "ready")
    data = page.evaluate("window.trafficChart.data.range")
    assert data["end"] - data["start"] < 3 * 3600
    assert data["timedim"] == "minute"


def test_an_ies_error_shows_what_failed_and_a_retry_button(page, live_server, presets, sim):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    page.goto(f"{live_server.url}/traffic/{CONNECTION}/?range=1h")
    state = page.locator("#traffic-state")
    expect(state).to_contain_text("IES is not answering right now.")
    retry = state.get_by_role("button", name="Try again")
    expect(retry).to_be_visible()
    sim.clear_faults()
    retry.click()
    expect(page.locator("#traffic")).to_have_attribute("data-state", "ready")


def test_the_overview_draws_a_small_chart_per_connection(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.get_by_role("link", name="Traffic").click()
    expect(page.get_by_role("heading", name="Traffic", exact=True)).to_be_visible()
    card = page.locator(".traffic-card").filter(has_text=CONNECTION)
    expect(card.locator("canvas")).to_have_count(1)
    expect(card).to_contain_text("peak")


def test_it_shows_loading_while_ies_is_slow(page, live_server, presets, sim):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    sim.add_fault(kind="latency", ms=1500, prefix="/rest/cloudvpnwatch")
    page.goto(f"{live_server.url}/traffic/{CONNECTION}/?range=1h")
    chart = page.locator("#traffic")
    expect(chart).to_have_attribute("aria-busy", "true")
    expect(page.locator("#traffic-state")).to_contain_text("Loading traffic…")
    expect(chart).to_have_attribute("data-state", "ready", timeout=15_000)
    expect(chart).to_have_attribute("aria-busy", "false")


def test_a_range_ending_now_refreshes_itself_every_minute(page, live_server, presets):
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/data.json" in request.url else None)
    page.clock.install()
    open_chart(page, live_server.url, "range=1h")
    assert len(asked) == 1
    # The refresh is asynchronous: wait for its request (up to 5 s), not for a fixed time.
    with page.expect_request(lambda request: "/data.json" in request.url, timeout=5_000):
        page.clock.run_for(61_000)
    assert len(asked) == 2
    assert "width=" in asked[-1] and "range=1h" in asked[-1]


def test_every_time_on_the_page_names_the_zone_as_the_server_does(page, live_server, presets):
    chart = open_chart(page, live_server.url)
    expect(chart).to_have_attribute("data-state", "ready")
    # The server writes times with Django's date:"T" in PORTAL_TIME_ZONE (Asia/Shanghai): "CST".
    server_written = page.locator("[data-figure=peak-out] .muted").inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d CST", server_written)
    # What the script writes carries the same name, not the browser's "GMT+8".
    expect(page.locator("#traffic-meta")).to_have_text(re.compile(r"^Updated \d{4}-\d\d-\d\d \d\d:\d\d CST( ·|$)"))
    box = page.locator("#chart-rate .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.locator("#chart-rate .traffic-tip-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d CST$"))
    expect(page.locator("#chart-rate .u-legend .u-series").first.locator(".u-value")).to_have_text(
        re.compile(r"CST$"))


def test_the_chart_legend_is_in_the_language_of_the_page(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    switch_to_chinese(page)
    page.goto(f"{live_server.url}/traffic/{CONNECTION}/?range=24h")
    expect(page.locator("#traffic")).to_have_attribute("data-drawn", "true")
    for chart in ("#chart-rate", "#chart-util"):
        labels = page.locator(f"{chart} .u-legend .u-series .u-label").all_inner_texts()
        assert labels[0] == "时间", labels
        assert not any(re.search(r"[A-Za-z]{3,}", label) for label in labels), labels


def read_chart_at(query: dict, now: int) -> None:
    """The portal reads user1's chart at ``now``, as a page would have then: its closed buckets go
    into the cache with the moment IES gave them."""
    from portal.services.mirror import service_mirror_sync
    from portal.services.models import Service
    from portal.tenants.models import Tenant
    from portal.traffic import ranges, selectors

    tenant = Tenant.objects.get(name="nbitest_11")
    service_mirror_sync(tenant=tenant)
    selectors.chart_for_connection(tenant=tenant, service=Service.objects.get(cloud_vpn_name=CONNECTION),
                                   trange=ranges.parse(query, now=now), width=800, now=now)


def test_a_chart_the_server_holds_comes_with_the_page_without_another_request(page, live_server, presets):
    open_chart(page, live_server.url, "range=24h")  # the first time: data.json, and the width is kept
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/data.json" in request.url else None)
    page.goto(f"{live_server.url}/traffic/{CONNECTION}/?range=24h")
    chart = page.locator("#traffic")
    expect(chart).to_have_attribute("data-drawn", "true")
    expect(chart).to_have_attribute("data-state", "ready")
    expect(page.locator("#traffic-initial")).to_have_count(1)
    expect(page.locator("#chart-rate canvas")).to_have_count(1)
    expect(page.locator("#chart-util canvas")).to_have_count(1)
    expect(page.locator("[data-figure=peak-out]")).to_contain_text(re.compile(r"[kMG]bit/s"))
    expect(page.locator("#traffic-meta")).to_have_text(re.compile(r"^Updated \d{4}-\d\d-\d\d \d\d:\d\d CST"))
    # Thinned for the width it is drawn at: nothing to ask again.
    assert page.evaluate("window.trafficChart.data.width === window.trafficChart.width()")
    assert asked == []


def test_a_chart_from_the_cache_alone_says_when_ies_gave_it_not_updated_now(page, live_server, presets, sim):
    import time

    from portal.traffic.selectors import epoch_label

    read = int(time.time()) - 900
    read_chart_at({"range": "1h"}, read)
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    page.goto(f"{live_server.url}/traffic/{CONNECTION}/?range=1h")
    chart = page.locator("#traffic")
    expect(chart).to_have_attribute("data-drawn", "true")
    expect(chart).to_have_attribute("data-stale", "older")
    when = epoch_label(read, seconds=True)  # local time, with the zone: "2026-12-07 10:43:12 CST"
    expect(page.locator("#traffic-meta")).to_have_text(re.compile(rf"^Read from IES at {re.escape(when)} · older than usual"))
    notice = page.locator("#traffic-stats [data-stale]")
    expect(notice).to_contain_text(f"as read from IES at {when}")
    expect(notice).to_contain_text("That is older than usual.")
