"""The service list in a real Chromium (issue 11, items 10, 11 and 15): search by any part of an id,
name or CloudVpnName; a sort a screen reader can announce; "Refresh from IES" that does not stick;
names in the order people count; IES's status words in Chinese with IES's own word at hand."""

import re

import pytest
from playwright.sync_api import expect

from portal.services.tasks import sync_tenant_services
from tests.e2e.helpers import log_in, switch_to_chinese
from tests.portal.services.mirroring import make_stale, own_tenant, presets, run_refreshes
from tests.simulator.helpers import create_body, created_service

__all__ = ["own_tenant", "presets"]  # mirrored, as a worker leaves them: pages read the mirror only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DC12 = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's service, site2dc_201705071132 / 0S2DC201705071132


def search(page, text: str) -> None:
    with page.expect_response(re.compile(r"/services/\?")):
        page.get_by_role("searchbox", name="Search").fill(text)


def test_the_search_finds_a_service_by_any_part_of_its_id_name_or_connection(page, live_server, presets):
    log_in(page, live_server.url, "user2")
    row = page.get_by_role("row").filter(has_text="site2dc_201705071132")
    for part in ("9LbuAd", "9lbuad", "cuGnVONz", "2017", "S2DC2017"):
        search(page, part)
        expect(row).to_have_count(1)
        expect(page.locator("#results")).to_contain_text("1 service")
    search(page, "no-such-part")
    expect(page.locator("#results")).to_contain_text("No service matches these filters.")
    # The address holds the search (a reload or a shared link shows the same list).
    search(page, "9LbuAd")
    expect(page).to_have_url(re.compile(r"[?&]q=9LbuAd"))


def test_the_sorted_column_says_so_to_eyes_and_screen_readers(page, live_server, presets):
    log_in(page, live_server.url, "user2")
    name = page.get_by_role("columnheader", name=re.compile("^Name"))
    expect(name).to_have_attribute("aria-sort", "ascending")
    expect(name).to_contain_text("▲")
    expect(name.locator(".visually-hidden")).to_have_text("(sorted ascending)")
    expect(page.locator("th[aria-sort]")).to_have_count(1)

    name.get_by_role("link").click()
    expect(name).to_have_attribute("aria-sort", "descending")
    expect(name).to_contain_text("▼")

    bandwidth = page.get_by_role("columnheader", name=re.compile("^Bandwidth"))
    bandwidth.get_by_role("link").click()
    expect(bandwidth).to_have_attribute("aria-sort", "ascending")
    expect(name).not_to_have_attribute("aria-sort", re.compile(".*"))
    expect(page.locator("th[aria-sort]")).to_have_count(1)


def test_refresh_from_ies_is_done_once_and_leaves_no_trace_in_the_address_or_links(
        page, live_server, own_tenant, simulator, inline_worker):
    simulator.bulk_services(own_tenant.name, 60)  # 61 services: two pages
    log_in(page, live_server.url, "own1")
    page.goto(f"{live_server.url}/services/?sort=-name")
    expect(page.locator("#results")).to_contain_text("1 service")  # the mirror, fresh: nothing asked
    page.get_by_role("button", name="Refresh from IES").click()
    expect(page.get_by_test_id("freshness")).to_contain_text("checking IES for changes")
    run_refreshes(inline_worker)  # the worker's part; the page polls until it has landed
    expect(page.locator("#results")).to_contain_text("61 services")
    expect(page).to_have_url(re.compile(r"/services/\?sort=-name$"))
    pager = page.get_by_role("navigation", name="Pages")
    nxt = pager.get_by_role("link", name=re.compile("Next"))
    assert "refresh" not in nxt.get_attribute("href")
    for link in page.locator("thead a").all():
        assert "refresh" not in link.get_attribute("href"), link.get_attribute("href")
    nxt.click()
    expect(pager).to_contain_text("Page 2 of 2")
    assert "refresh" not in page.url and "sort=-name" in page.url


def test_names_sort_the_way_people_count(page, live_server, own_tenant, simulator):
    for name in ("site10", "site2", "site1"):
        created_service(simulator, own_tenant.name, create_body(name=name))
    sync_tenant_services(own_tenant.tenant.pk)  # the background refresh
    log_in(page, live_server.url, "own1")
    links = page.locator("tbody tr td:first-child a")
    expect(links).to_have_count(4)
    names = [n for n in links.all_inner_texts() if n.startswith("site")]
    assert names == ["site1", "site2", "site10"], names
    page.get_by_role("columnheader", name=re.compile("^Name")).get_by_role("link").click()
    expect(page.get_by_role("columnheader", name=re.compile("^Name"))).to_have_attribute("aria-sort", "descending")
    names = [n for n in links.all_inner_texts() if n.startswith("site")]
    assert names == ["site10", "site2", "site1"], names


def test_ies_status_words_are_chinese_and_the_ies_word_stays_at_hand(page, live_server, presets):
    log_in(page, live_server.url, "user2")
    switch_to_chinese(page)
    row = page.get_by_role("row").filter(has_text="site2dc_201705071132")
    status = row.locator("[data-ies-word=Completed]")
    expect(status).to_have_text("已完成")
    expect(status).to_have_attribute("title", "Completed")
    # Any Chinese: "Active" shares its msgid with another page's word (context aside).
    expect(row.locator("[data-ies-word=Active]")).to_have_text(re.compile(r"^[\u4e00-\u9fff]+$"))
    expect(row).not_to_contain_text("Completed")
    # The status filter offers the same words.
    expect(page.locator("#f-status option[value=Completed]")).to_have_text("已完成")

    page.get_by_role("link", name="site2dc_201705071132").click()
    facts = page.locator("dl.facts").first
    expect(facts.locator("[data-ies-word=Completed]")).to_have_text("已完成")
    expect(facts.locator("[data-ies-word=Active]")).to_have_text(re.compile(r"^[\u4e00-\u9fff]+$"))
    expect(facts).not_to_contain_text("Completed")


def test_the_list_updates_itself_when_the_background_refresh_lands(page, live_server, own_tenant, simulator,
                                                                   inline_worker):
    """Issue 13: the page shows the last known list at once and says it is checking IES; when the
    worker's refresh lands, the list (polled through htmx) shows a service made at IES meanwhile,
    without a reload, and stops polling."""
    made = created_service(simulator, own_tenant.name, create_body(name="site-made-at-ies"))
    make_stale(own_tenant.tenant)
    log_in(page, live_server.url, "own1")
    expect(page.get_by_role("link", name=own_tenant.service_name)).to_be_visible()
    expect(page.get_by_test_id("freshness")).to_contain_text("checking IES for changes")
    expect(page.get_by_role("link", name="site-made-at-ies")).to_have_count(0)
    page.evaluate("window.__untouched = 1")
    run_refreshes(inline_worker)
    expect(page.get_by_role("link", name="site-made-at-ies")).to_have_attribute("href", f"/services/{made}/")
    expect(page.get_by_test_id("freshness")).to_contain_text(re.compile(r"From IES, as of \d\d:\d\d:\d\d"))
    expect(page.locator("#results[data-refreshing]")).to_have_count(0)
    assert page.evaluate("window.__untouched") == 1, "updated in place, not reloaded"
