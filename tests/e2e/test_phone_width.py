"""At a phone's width (390 px) no page scrolls sideways, in English and in Chinese, and the service
list shows each service's name, status and bandwidth without scrolling anything."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_accessibility import CONNECTION, SERVICE_ID, Visit, a_finished_operation, choose_language
from tests.e2e.test_login_and_services import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def tenant_pages(operation_pk: int) -> list[Visit]:
    return [
        Visit("/services/"),
        Visit(f"/services/{SERVICE_ID}/"),
        Visit("/operations/"),
        Visit(f"/operations/{operation_pk}/"),
        Visit("/services/activity/"),
        Visit("/traffic/", ready=".traffic-card canvas"),
        Visit(f"/traffic/{CONNECTION}/?range=24h", ready="#traffic[data-drawn=true]"),
    ]


def staff_pages(tenant_pk: int, user_pk: int) -> list[Visit]:
    return [
        Visit("/staff/tenants/"),
        Visit(f"/staff/tenants/{tenant_pk}/"),
        Visit("/staff/users/"),
        Visit(f"/staff/users/{user_pk}/"),
        Visit("/staff/audit/"),
    ]


def sideways(page) -> dict | None:
    """None when the page fits the window, else how far it sticks out and the widest culprits."""
    return page.evaluate("""() => {
      const root = document.documentElement, width = window.innerWidth;
      if (root.scrollWidth <= width) return null;
      const culprits = [...document.body.querySelectorAll('*')]
        .filter(el => el.getBoundingClientRect().right > width + 1)
        .filter(el => !el.parentElement.closest(".table"))
        .slice(0, 8)
        .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
             (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
             ' right=' + Math.round(el.getBoundingClientRect().right));
      return {scrollWidth: root.scrollWidth, innerWidth: width, culprits};
    }""")


def assert_fits(page, base: str, visits: list[Visit]) -> None:
    overflowing = []
    for visit in visits:
        page.goto(base + visit.path)
        expect(page.locator(visit.ready).first).to_be_attached()
        too_wide = sideways(page)
        if too_wide:
            overflowing.append(f"{visit.path}: {too_wide}")
    assert not overflowing, "\n".join(overflowing)


def within_window(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_tenant_page_scrolls_sideways_on_a_phone(page, live_server, presets, language):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "user1")
    expect(page.locator("h1")).to_be_visible()
    choose_language(page, language)
    assert_fits(page, live_server.url, tenant_pages(a_finished_operation("user1")))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_staff_page_scrolls_sideways_on_a_phone(page, live_server, presets, language):
    from django.contrib.auth import get_user_model

    from portal.tenants.models import Tenant

    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "admin")
    expect(page.locator("h1")).to_be_visible()
    choose_language(page, language)
    tenant = Tenant.objects.get(name="nbitest_11")
    user = get_user_model().objects.get(username="user1")
    assert_fits(page, live_server.url, staff_pages(tenant.pk, user.pk))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_service_list_shows_name_status_and_bandwidth_on_a_phone(page, live_server, presets, language):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "user1")
    choose_language(page, language)
    page.goto(live_server.url + "/services/")
    row = page.locator(f"#row-{SERVICE_ID}")
    name = row.get_by_role("link", name="s2s_201705061433")
    status = row.locator(".status")
    bandwidth = row.get_by_text("80 Mbit/s")
    for cell in (name, status, bandwidth):
        expect(cell).to_be_visible()
        assert within_window(page, cell), cell
    assert sideways(page) is None


@pytest.mark.parametrize("path", ["/staff/tenants/", "/staff/audit/"])
def test_a_wide_staff_table_scrolls_in_its_own_box_with_its_first_column_in_view(page, live_server, presets,
                                                                                 path):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "admin")
    expect(page.locator("h1")).to_be_visible()
    page.goto(live_server.url + path)
    first_cell = page.locator("main table tbody tr").first.locator("td, th").first
    expect(first_cell).to_be_visible()
    assert within_window(page, first_cell)
    assert sideways(page) is None
