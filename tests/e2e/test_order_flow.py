"""Scenario 1 of the deck in a real Chromium: logged in as user16, a tenant orders a Site-to-DC
CloudVPN and watches it become active without touching the keyboard after "Place order".

The order is really processed: a Celery worker submits it to the live simulator and tracks it; the
operation page changes by itself through its HTMX-polled status fragment.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from portal.catalog.models import Order
from portal.operations.models import Operation, OperationState
from tests.e2e.helpers import log_in, switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITE2DC_NAME = "CloudVPN Site2DC"
GOOD_ESN = "21500102003GG3000704"

# The Chinese the zh-hans catalogue gives these texts (locale/zh_Hans/LC_MESSAGES/django.po).
ZH = {
    "My services": "我的业务",
    "Order": "订购",
    "Service name": "业务名称",
    "Bandwidth": "带宽",
    "Connection parameters": "连接参数",
    "Please correct the 1 field marked below.": "请更正下方标记的 1 个字段。",
    "A serial number is 20": "序列号为 20 个字符",
    "Next: review": "下一步：确认",
    "Review your order": "确认订单",
    "Place order": "提交订单",
    "1 running": "1 个进行中",
    "The connection is active": "连接已激活",
    "Bandwidth: 60 Mbit/s.": "带宽：60 Mbit/s。",
    "Go to my services": "前往我的业务",
}


def order_values() -> dict[str, str]:
    vpn = "E2E" + uuid.uuid4().hex[:10].upper()
    return {
        "service_name": "site2dc_" + vpn.lower(),
        "CloudVpnName": vpn,
        "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70",
        "VNI": "2236",
        "CPE_A_Site": "siteDC201705071132",
        "CPE_A_ESN": GOOD_ESN,
        "CPE_A_Position": "siteDC201705071132",
        "CPE_A_POP": "Manager_VPC",
        "Bandwidth_0": "60",
        "cidr": "163.113.12.1",
        "cidrBlockSize": "24",
    }


def open_site2dc_form(page, base: str, order_link: str = "Order") -> None:
    """From any page: the nav link to the catalog, then "Order" on the Site2DC card."""
    page.get_by_role("navigation", name=re.compile("Main|主")).get_by_role("link", name=order_link, exact=True).click()
    card = page.locator("li.def-card").filter(has=page.get_by_role("heading", name=SITE2DC_NAME, exact=True))
    card.get_by_role("button", name=order_link, exact=True).click()
    expect(page).to_have_url(re.compile(r"/catalog/orders/new/[^/]+/$"))


def fill_form(page, values: dict[str, str], unit: str = "Mbit/s") -> None:
    """Type the values the way a person does: into the labelled fields (the unit is a select)."""
    for name, value in values.items():
        page.locator(f"#id_{name}").fill(value)
    page.locator("#id_CPE_A_Type").select_option("AR169FGW-L")
    page.locator("#id_Bandwidth_1").select_option(unit)


def test_user16_orders_a_site2dc_and_watches_it_become_active(page, live_server, presets, celery_worker):
    base = live_server.url
    log_in(page, base, "user16")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()

    open_site2dc_form(page, base)
    expect(page.get_by_role("heading", name=f"Order “{SITE2DC_NAME}”")).to_be_visible()
    values = order_values()
    # The labels a person reads lead to the fields (no field is reachable only by its IES name).
    page.get_by_label("Service name").fill(values["service_name"])
    page.get_by_label("CloudVpnName (connection name)").fill(values["CloudVpnName"])
    page.get_by_label("VPC id").fill(values["VPC_ID"])
    page.get_by_label("VNI (VXLAN id)").fill(values["VNI"])
    page.get_by_label("CPE A site").fill(values["CPE_A_Site"])
    page.get_by_label("CPE A model").select_option("AR169FGW-L")
    page.get_by_label("CPE A serial number (ESN)").fill(values["CPE_A_ESN"])
    page.get_by_label("CPE A position").fill(values["CPE_A_Position"])
    page.get_by_label("CPE A POP").fill(values["CPE_A_POP"])
    page.get_by_role("textbox", name="Bandwidth", exact=True).fill("60")
    page.locator("#id_Bandwidth_1").select_option("Mbit/s")
    page.get_by_label("Site subnet address").fill(values["cidr"])
    page.get_by_label("Site subnet prefix length").fill(values["cidrBlockSize"])
    page.get_by_role("button", name="Next: review").click()

    # The review speaks in Mbit/s (and shows what IES will receive).
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    review = page.locator("dl.facts")
    expect(review).to_contain_text("60 Mbit/s")
    expect(review).to_contain_text("(60,000 kbit/s)")
    expect(review).to_contain_text(values["service_name"])

    # The browser's back button returns to the form with every value kept.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/catalog/orders/new/[^/]+/$"))
    for name in ("service_name", "CloudVpnName", "VPC_ID", "VNI", "CPE_A_ESN", "cidr", "Bandwidth_0"):
        expect(page.locator(f"#id_{name}")).to_have_value(values[name])
    expect(page.locator("#id_Bandwidth_1")).to_have_value("Mbit/s")
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()

    # "Place order", clicked twice in a hurry (the page's guard lets one POST through;
    # test_two_place_order_requests_at_once_make_one_order sends several to the server at once).
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        page.get_by_role("button", name="Place order").dblclick()

    # Right after submit the operation is in flight: the header says so, the status region is live.
    status = page.locator("#op-status")
    first_state = status.get_attribute("data-state")
    assert first_state in (OperationState.QUEUED, OperationState.PROCESSING), first_state
    expect(page.locator("#ops-badge")).to_contain_text("1 running")
    expect(status.locator("[aria-live]")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("progressbar")).to_be_visible()

    # From here on the test only watches: no click, no key, no reload.
    url = page.url
    page.evaluate("window.__untouched = 'still the same document'")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    expect(page.get_by_test_id("op-phase")).to_have_text("The connection is active", timeout=30_000)
    expect(status).to_have_attribute("data-state", "succeeded")
    expect(status).to_contain_text(f"IES reports {values['service_name']} as")
    expect(status).to_contain_text("Bandwidth: 60 Mbit/s.")
    # The page updated itself: same URL, same document, no navigation.
    assert page.url == url
    assert page.evaluate("window.__untouched") == "still the same document"
    assert navigations == []
    # Polling stopped with the outcome: the final fragment carries no hx-get any more.
    assert status.get_attribute("hx-get") is None

    # Two clicks, one order.
    assert Order.objects.count() == 1
    assert Operation.objects.count() == 1
    op = Operation.objects.get()
    assert op.state == OperationState.SUCCEEDED
    assert op.order.name == values["service_name"]
    assert op.order.parameters["Bandwidth"] == "60000"

    # The new service is in the list, active.
    page.get_by_role("link", name="Go to my services").click()
    row = page.get_by_role("row").filter(has_text=values["service_name"])
    expect(row).to_contain_text("60 Mbit/s")
    expect(row).to_contain_text(values["CloudVpnName"])


def test_a_bad_value_is_shown_next_to_its_field_and_the_rest_is_kept(page, live_server, presets):
    base = live_server.url
    log_in(page, base, "user16")
    open_site2dc_form(page, base)
    values = order_values()
    values["CPE_A_ESN"] = "2150010200"  # ten characters: a serial number has twenty
    fill_form(page, values)
    page.get_by_role("button", name="Next: review").click()

    # Still the form, with a summary at the top and the message at the ESN field.
    expect(page.locator("#form-errors")).to_contain_text("Please correct the field marked below.")
    esn = page.locator("#field-CPE_A_ESN")
    expect(esn).to_have_class(re.compile(r"\bhas-error\b"))
    expect(esn.locator(".field-error").first).to_contain_text("A serial number is 20 characters")
    expect(page.locator(".field.has-error")).to_have_count(1)  # no other field complains
    # Everything typed is still there, the wrong value too (so it can be corrected, not retyped).
    for name, value in values.items():
        expect(page.locator(f"#id_{name}")).to_have_value(value)
    expect(page.locator("#id_Bandwidth_1")).to_have_value("Mbit/s")

    # Correcting the one field is enough to reach the review.
    page.get_by_label("CPE A serial number (ESN)").fill(GOOD_ESN)
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(GOOD_ESN)
    assert not Order.objects.exists()


def test_back_from_the_review_after_a_correction_keeps_the_values(page, live_server, presets):
    """After a refused submit the form page is a POST answer: going back to it must not lose the form."""
    base = live_server.url
    log_in(page, base, "user16")
    open_site2dc_form(page, base)
    values = order_values()
    fill_form(page, {**values, "VNI": "0"})
    page.get_by_role("button", name="Next: review").click()
    expect(page.locator("#field-VNI .field-error")).to_contain_text("Enter 1 or more.")
    page.locator("#id_VNI").fill(values["VNI"])
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()

    page.go_back()
    expect(page.get_by_role("button", name="Next: review")).to_be_visible()
    for name in ("service_name", "CloudVpnName", "CPE_A_ESN", "Bandwidth_0"):
        expect(page.locator(f"#id_{name}")).to_have_value(values[name])


def test_two_place_order_requests_at_once_make_one_order(page, live_server, presets):
    """The button's guard aside (a second tab, a flaky network resending): the server keeps one order."""
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    fill_form(page, order_values())
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    landed = page.evaluate("""async () => {
        const form = document.getElementById("order-submit");
        const send = () => fetch(location.href, {method: "POST", body: new FormData(form)}).then(r => r.url);
        return Promise.all([send(), send(), send()]);
    }""")
    assert len(set(landed)) == 1 and re.search(r"/operations/\d+/$", landed[0]), landed
    assert Order.objects.count() == 1
    assert Operation.objects.count() == 1


def test_the_order_flow_in_chinese(page, live_server, presets, celery_worker):
    base = live_server.url
    log_in(page, base, "user16")
    switch_to_chinese(page)
    expect(page.get_by_role("heading", name=ZH["My services"])).to_be_visible()

    open_site2dc_form(page, base, order_link=ZH["Order"])
    expect(page.get_by_role("heading", name=f"订购“{SITE2DC_NAME}”")).to_be_visible()
    expect(page.get_by_role("group", name=ZH["Connection parameters"])).to_be_visible()
    values = order_values()
    fill_form(page, {**values, "CPE_A_ESN": "2150010200"})
    # The labels are Chinese too, and still lead to their fields.
    expect(page.get_by_label(ZH["Service name"])).to_have_value(values["service_name"])
    expect(page.get_by_role("textbox", name=ZH["Bandwidth"], exact=True)).to_have_value("60")
    page.get_by_role("button", name=ZH["Next: review"]).click()
    expect(page.locator("#form-errors")).to_contain_text(ZH["Please correct the 1 field marked below."])
    expect(page.locator("#field-CPE_A_ESN .field-error").first).to_contain_text(ZH["A serial number is 20"])
    page.get_by_label("CPE A 序列号（ESN）").fill(GOOD_ESN)
    page.get_by_role("button", name=ZH["Next: review"]).click()
    expect(page.get_by_role("heading", name=ZH["Review your order"])).to_be_visible()
    # Units stay as written (Mbit/s is the same in both languages).
    expect(page.locator("dl.facts")).to_contain_text("60 Mbit/s")

    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        page.get_by_role("button", name=ZH["Place order"]).click()
    expect(page.locator("#ops-badge")).to_contain_text(ZH["1 running"])
    page.evaluate("window.__untouched = 1")
    expect(page.get_by_test_id("op-phase")).to_have_text(ZH["The connection is active"], timeout=30_000)
    expect(page.locator("#op-status")).to_contain_text(ZH["Bandwidth: 60 Mbit/s."])
    assert page.evaluate("window.__untouched") == 1
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("link", name=ZH["Go to my services"])).to_be_visible()
    assert Order.objects.count() == 1
