"""Single sign-on in a real Chromium, by keyboard, in English and Chinese, against a real OpenID
Connect provider (tests/fixtures_oidc.py): in, out (of the provider too), and refused with words.
axe-clean (the `page` fixture checks every page the portal serves)."""

import re

import pytest
from playwright.sync_api import expect

from portal.tenants.models import Membership, Role
from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "idp-secret-Pa55"


@pytest.fixture
def provider(settings, live_server, make_oidc_provider, own_tenant):
    found = make_oidc_provider(
        redirect_uris=[f"{live_server.url}/sso/callback/"], post_logout_redirect_uris=[f"{live_server.url}/login/"],
        users=[{"username": "alice", "password": PASSWORD, "email": "alice@acme.test", "groups": ["acme-netops"]},
               {"username": "mallory", "password": PASSWORD, "email": "mallory@else.test", "groups": []}])
    settings.SSO_ISSUER = found.base_url
    settings.OIDC_RP_CLIENT_ID = found.client_id
    settings.OIDC_RP_CLIENT_SECRET = found.client_secret
    settings.SSO_PROVIDER_NAME = "Acme ID"
    # What settings.py derives from OIDC_ISSUER at start: logout's form may go on to the provider.
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", found.root]}
    own_tenant.tenant.sso_member_group = "acme-netops"
    own_tenant.tenant.save()
    return found


def sign_in_at_provider(page, username: str) -> None:
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def test_a_member_signs_in_with_the_provider_by_keyboard_and_out_of_both(page, live_server, provider, own_tenant):
    base = live_server.url
    page.goto(base + "/services/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/services/"))
    button = page.get_by_role("link", name="Sign in with Acme ID")
    expect(button).to_be_visible()
    assert_accessible(page)
    button.focus()
    page.keyboard.press("Enter")
    sign_in_at_provider(page, "alice")
    expect(page).to_have_url(re.compile(r"/services/$"))
    expect(page.locator(".topbar .tenant")).to_have_text(own_tenant.name)
    assert Membership.objects.get(user__username="alice").role == Role.MEMBER

    page.get_by_role("link", name="Password").press("Enter")
    expect(page.get_by_test_id("no-password")).to_contain_text("single sign-on")
    assert_accessible(page)

    page.get_by_role("button", name="Log out").first.press("Enter")
    expect(page).to_have_url(re.compile(r"/login/$"))
    # Out of the provider too: signing in again asks for its password.
    page.get_by_role("link", name="Sign in with Acme ID").press("Enter")
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()


def test_in_chinese_a_person_without_access_is_told_why_and_a_member_gets_in(page, live_server, provider):
    base = live_server.url
    page.goto(base + "/login/")
    switch_to_chinese(page)
    page.get_by_role("link", name="使用 Acme ID 登录").press("Enter")
    sign_in_at_provider(page, "mallory")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("status")).to_contain_text("您在门户中没有账号")
    assert_accessible(page)

    # The provider remembers mallory: another person at this browser starts from clean cookies.
    page.context.clear_cookies()
    page.goto(base + "/login/")
    switch_to_chinese(page)
    page.get_by_role("link", name="使用 Acme ID 登录").press("Enter")
    sign_in_at_provider(page, "alice")
    expect(page).to_have_url(re.compile(r"/services/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的业务")
