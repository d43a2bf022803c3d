"""Two-factor authentication in a real Chromium, by keyboard: an admin enrols an authenticator
(the key read from the page, its code computed here), logs out and logs in again with a code; the
verify page switches to Chinese without being let through. axe-clean (the `page` fixture)."""

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, submit_login, switch_to_chinese
from tests.fixtures_portal import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(settings, django_user_model):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True
    return django_user_model.objects.create_user("boss", password=DEMO_PASSWORD, is_staff=True)


def code_for(secret: str, drift: int = 0) -> str:
    return f"{totp(b32decode(secret.replace(' ', '')), drift=drift):06d}"


def type_code(page, label: str, code: str) -> None:
    field = page.get_by_label(label)
    field.focus()
    page.keyboard.press("Control+A")  # what was typed last time, if any
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_an_admin_enrols_by_keyboard_then_logs_in_with_a_code(page, live_server, admin):
    base = live_server.url
    log_in(page, base, "boss")
    expect(page).to_have_url(re.compile(r"/account/two-factor/setup/"))
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of the key for your authenticator app")).to_be_visible()
    assert_accessible(page)
    secret = page.get_by_test_id("secret").inner_text()

    type_code(page, "Code from the app", "000000")
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    TOTPDevice.objects.filter(user=admin).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    type_code(page, "Code from the app", code_for(secret))
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").get_by_role("listitem")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="Continue").press("Enter")
    expect(page).not_to_have_url(re.compile(r"two-factor"))

    page.get_by_role("button", name="Log out").first.press("Enter")
    expect(page).to_have_url(re.compile(r"/login/"))
    submit_login(page, "boss")
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/"))
    assert_accessible(page)
    # The code of the next 30 s: the one just used is not accepted twice.
    type_code(page, "Code", code_for(secret, drift=1))
    expect(page).to_have_url(re.compile(r"/staff/"))


def test_in_chinese_the_verify_page_still_waits_for_the_code(page, live_server, admin):
    TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    base = live_server.url
    log_in(page, base, "boss")
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/"))
    switch_to_chinese(page)
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/"))
    expect(page.get_by_role("button", name="退出登录").first).to_be_visible()
    page.goto(f"{base}/staff/")
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/"))
