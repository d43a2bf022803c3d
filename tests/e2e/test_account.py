"""A user's own account in a real Chromium: the password changed by keyboard (English), and the reset
by e-mail in Chinese, from the login page to the new password; axe-clean."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, switch_to_chinese
from tests.portal.services.mirroring import presets

__all__ = ["presets"]  # the presets mirrored, as a worker leaves them: pages read the mirror only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Sturdy-new-passphrase-42"


def test_a_user_changes_their_password_by_keyboard(page, live_server, presets):
    base = live_server.url
    log_in(page, base, "user1")
    link = page.get_by_role("link", name="Password", exact=True)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Password change")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Old password").fill("not-it")
    page.locator("#id_new_password1").fill("password")
    page.get_by_label("New password confirmation").fill("password")
    page.get_by_label("New password confirmation").press("Enter")
    expect(page.get_by_text("Your old password was entered incorrectly.")).to_be_visible()
    expect(page.get_by_text("This password is too common.")).to_be_visible()
    assert_accessible(page)

    from tests.portal.conftest import DEMO_PASSWORD

    page.get_by_label("Old password").fill(DEMO_PASSWORD)
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Your password was changed.")).to_be_visible()
    assert get_user_model().objects.get(username="user1").check_password(NEW_PASSWORD)

    page.get_by_role("link", name="Sessions", exact=True).click()
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    expect(page.get_by_text("this device")).to_be_visible()
    assert_accessible(page)


def test_the_reset_by_email_in_chinese(page, live_server, presets):
    get_user_model().objects.filter(username="user2").update(email="user2@example.com")
    mail.outbox.clear()
    base = live_server.url
    page.goto(base + "/login/")
    switch_to_chinese(page)
    page.locator("a[href$='/account/password/reset/']").click()
    expect(page.get_by_role("heading", name="重置密码")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("电子邮件地址：").fill("user2@example.com")
    page.get_by_role("button", name="重置我的密码").click()
    expect(page.get_by_role("status")).to_contain_text("我们已向其发送设置密码的说明")
    assert_accessible(page)

    (message,) = mail.outbox
    assert "重置" in message.subject
    link = re.search(r"https?://\S+/account/password/reset/\S+/", message.body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="确认重置密码")).to_be_visible()
    assert_accessible(page)
    page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("您的密码已设置")
    assert_accessible(page)
    assert get_user_model().objects.get(username="user2").check_password(NEW_PASSWORD)

    page.goto(link)  # once only
    expect(page.get_by_role("alert")).to_contain_text("密码重置链接无效")
