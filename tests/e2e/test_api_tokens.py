"""The API token page in a real Chromium: a token made by keyboard, its secret shown once and copied,
then revoked after a confirmation; the page in Chinese; axe-clean."""

import re

import pytest
from playwright.sync_api import expect

from portal.api.models import ApiToken
from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_makes_a_token_by_keyboard_copies_it_once_and_revokes_it(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_test_id("no-tokens")).to_be_visible()
    expect(page.get_by_role("link", name="API documentation")).to_have_attribute("href", "/api/v1/docs")
    assert_accessible(page)

    page.get_by_label("Name").focus()
    page.keyboard.type("deploy script")
    page.keyboard.press("Tab")  # the name's help is text: the next stop is the first box ("order")
    expect(page.get_by_role("checkbox", name=re.compile("Order new services"))).to_be_focused()
    page.keyboard.press("Space")
    page.get_by_label("Expires after").select_option("7d")
    page.get_by_label("Name").press("Enter")

    card = page.get_by_test_id("new-token")
    expect(card).to_be_visible()
    secret_box = card.get_by_role("textbox", name="Token")
    expect(secret_box).to_be_focused()
    expect(secret_box).to_have_value(re.compile(r"^cvp_[a-z0-9]{8}_"))
    secret = secret_box.input_value()
    expect(card).to_contain_text("it will not be shown again")
    expect(card.get_by_test_id("curl-example")).to_have_text(
        f'curl -H "Authorization: Bearer {secret}" {base}/api/v1/services')
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    copy = card.get_by_role("button", name="Copy")
    copy.focus()
    page.keyboard.press("Enter")
    expect(card.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert_accessible(page)

    token = ApiToken.objects.get()
    assert token.scopes == ["read", "order"] and token.name == "deploy script"

    card.get_by_role("link", name="Done").click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    row = page.get_by_test_id("token")
    expect(row).to_have_attribute("data-state", "active")
    expect(row).to_contain_text(f"{token.prefix}…")
    assert secret not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    revoke = row.get_by_role("button", name=re.compile("Revoke"))
    revoke.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="revoked")).to_be_visible()
    expect(page.get_by_test_id("token")).to_have_attribute("data-state", "revoked")
    expect(page.get_by_test_id("token").get_by_role("button")).to_have_count(0)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_dismissed_confirmation_revokes_nothing(page, live_server, own_tenant):
    from django.contrib.auth import get_user_model

    from tests.portal.api.conftest import make_token

    token, _secret = make_token(get_user_model().objects.get(username="own1"), own_tenant.tenant, ["read"])
    log_in(page, live_server.url, "own1")
    page.goto(live_server.url + "/api/tokens/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_test_id("token").get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.get_by_test_id("token")).to_have_attribute("data-state", "active")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_in_chinese_the_page_works(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    switch_to_chinese(page)
    page.goto(base + "/api/tokens/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_be_visible()
    page.locator("input[name=name]").fill("同步脚本")
    page.locator("form[action='/api/tokens/'] button[type=submit]").click()
    card = page.get_by_test_id("new-token")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("secret")).to_have_value(re.compile(r"^cvp_"))
    expect(page.get_by_test_id("token")).to_contain_text("同步脚本")
    assert_accessible(page)
    assert ApiToken.objects.get().name == "同步脚本"
