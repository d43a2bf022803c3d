"""The creation wizard in a real Chromium: lengths said plainly, every text the portal writes in
Chinese, the focus where there is something to do, and the bandwidth shown as the portal read it."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import log_in, switch_to_chinese
from tests.e2e.test_order_flow import fill_form, open_site2dc_form, order_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITE2SITE_NAME = "CloudVPN Site2Site"
CJK = re.compile(r"[\u4e00-\u9fff]")


def open_form(page, definition_name: str, order_link: str) -> None:
    page.get_by_role("navigation", name=re.compile("Main|主")).get_by_role("link", name=order_link, exact=True).click()
    card = page.locator("li.def-card").filter(has=page.get_by_role("heading", name=definition_name, exact=True))
    card.get_by_role("button", name=order_link, exact=True).click()
    expect(page).to_have_url(re.compile(r"/catalog/orders/new/[^/]+/$"))


def test_a_serial_number_reads_exactly_20_characters_in_the_catalog_and_the_wizard(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Order", exact=True).click()
    page.get_by_role("link", name=SITE2SITE_NAME, exact=True).click()
    for side in ("A", "B"):
        row = page.get_by_role("row").filter(has_text=f"CPE_{side}_ESN")
        expect(row).to_contain_text("exactly 20 characters")
        expect(row).not_to_contain_text("20 to 20")
    page.get_by_role("button", name="Order this service").click()
    esn = page.get_by_label("CPE B serial number (ESN)")
    expect(esn).to_have_accessible_description(re.compile(r"exactly 20 characters"))


def test_every_label_help_and_placeholder_of_both_definitions_is_chinese(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    switch_to_chinese(page)
    for name in ("CloudVPN Site2DC", SITE2SITE_NAME):
        open_form(page, name, "订购")
        fields = page.locator(".order-form .field")
        expect(fields.first).to_be_visible()
        count = fields.count()
        assert count >= 12, (name, count)
        for i in range(count):
            field = fields.nth(i)
            label = field.locator("label").inner_text()
            assert CJK.search(label), (name, label)
            help_ = field.locator(".help")
            if help_.count():  # the service description needs no help
                text = help_.inner_text()
                assert CJK.search(text), (name, label, text)
        # The model selects start on a translated "Choose…" (they are optional), not on a dash.
        for select in page.locator(".order-form select:not(.bw-unit)").all():
            expect(select.locator("option").first).to_have_text("请选择…")
        # The ranges in the help are phrased in Chinese too.
        expect(page.locator("#id_CPE_A_ESN_helptext")).to_contain_text("正好 20 个字符")


def test_the_focus_follows_each_step_and_lands_on_the_first_refused_field(page, live_server, presets):
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)

    # Step 2, fresh: the step indicator says so and the first field has the focus.
    steps = page.get_by_role("list", name="Order steps")
    expect(steps.locator('[aria-current="step"]')).to_have_text("2. Parameters")
    expect(page.get_by_label("Service name")).to_be_focused()

    # Refused: the focus is on the first refused field, which says what is wrong.
    values = order_values()
    fill_form(page, {**values, "VNI": "0", "CPE_A_ESN": "2150010200"})
    page.get_by_role("button", name="Next: review").click()
    expect(page.locator("#form-errors")).to_contain_text("Please correct the 2 fields marked below.")
    vni = page.get_by_label("VNI (VXLAN id)")
    expect(vni).to_be_focused()
    expect(vni).to_have_attribute("aria-invalid", "true")
    expect(vni).to_have_accessible_description(re.compile(r"Enter 1 or more\."))
    esn = page.get_by_label("CPE A serial number (ESN)")
    expect(esn).to_have_attribute("aria-invalid", "true")
    expect(esn).to_have_accessible_description(re.compile(r"A serial number is 20 characters"))
    expect(page.get_by_label("CloudVpnName (connection name)")).not_to_have_attribute("aria-invalid", "true")

    # Typing on from there: the keyboard user corrects the field they landed on.
    page.keyboard.press("Control+A")
    page.keyboard.type(values["VNI"])
    esn.fill(values["CPE_A_ESN"])
    page.get_by_role("button", name="Next: review").click()

    # Step 3: the indicator moves on and the focus starts at the review's heading.
    expect(page.get_by_role("list", name="Order steps").locator('[aria-current="step"]')).to_have_text(
        "3. Review and order")
    expect(page.get_by_role("heading", name="Review your order")).to_be_focused()
    expect(page.locator("dl.facts")).to_contain_text(values["VNI"])


def test_a_refused_bandwidth_is_described_and_focused_and_the_review_shows_it_as_read(page, live_server, presets):
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    values = order_values()
    fill_form(page, {**values, "Bandwidth_0": "0.5"})
    page.get_by_role("button", name="Next: review").click()

    amount = page.get_by_role("textbox", name="Bandwidth", exact=True)
    expect(amount).to_be_focused()
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_have_accessible_description(re.compile(r"type a number and choose its unit.*At least 1 Mbit/s"))

    # A thousand-fold slip shows before ordering: "1" with Gbit/s reads 1 Gbit/s (1,000,000 kbit/s).
    amount.fill("1")
    page.locator("#id_Bandwidth_1").select_option("Gbit/s")
    # The bandwidth box's live reading works inside the wizard's field layout.
    expect(page.locator("#field-Bandwidth").get_by_test_id("bandwidth-reading")).to_have_text("= 1 Gbit/s")
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    bandwidth = page.locator("dl.facts dt", has_text="Bandwidth").locator("xpath=following-sibling::dd[1]")
    expect(bandwidth).to_have_text("1 Gbit/s (1,000,000 kbit/s)")
