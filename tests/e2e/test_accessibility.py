"""axe-core (vendored, see tests/e2e/conftest.py) on every page a tenant member, a viewer and an admin
can reach, in English and in Chinese: no violation of any impact (contrast included).

Each walk visits all its pages and reports every violation found at once (rule, impact, elements,
page), so that one run shows everything left to fix.
"""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations, describe_violations
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVICE_ID = "8hiqoNgCSZmrlD1MyROJbg"  # user1's preset service (nbitest_11)
CONNECTION = "VPNS2S201705061433"
SITE2DC_NAME = "CloudVPN Site2DC"
LANGUAGES = {"en": "English", "zh-hans": "简体中文"}


@dataclass(frozen=True)
class Visit:
    path: str
    ready: str = "main"  # a selector that is there once the page has drawn what it draws


def tenant_pages(operation_pk: int) -> list[Visit]:
    return [
        Visit("/services/"),
        Visit(f"/services/{SERVICE_ID}/"),
        Visit(f"/services/{SERVICE_ID}/bandwidth/"),
        Visit(f"/services/{SERVICE_ID}/delete/"),
        Visit(f"/services/{SERVICE_ID}/policies/"),
        Visit("/policies/"),
        Visit("/services/activity/"),
        Visit("/operations/"),
        Visit(f"/operations/{operation_pk}/"),
        Visit("/traffic/", ready=".traffic-card canvas"),
        Visit(f"/traffic/{CONNECTION}/?range=24h", ready="#traffic[data-drawn=true]"),
        Visit("/catalog/"),
        Visit("/api/tokens/"),
        Visit("/alerts/"),
        Visit("/alerts/rules/new/"),
        Visit("/alerts/subscription/"),
        Visit("/alerts/channels/"),
        Visit("/account/password/"),
        Visit("/account/sessions/"),
        Visit("/account/two-factor/"),
        Visit("/account/two-factor/setup/"),
        Visit("/services/no-such-service/"),  # the 404 page
    ]


def viewer_pages(operation_pk: int) -> list[Visit]:
    return [
        Visit("/services/"),
        Visit(f"/services/{SERVICE_ID}/"),
        Visit(f"/services/{SERVICE_ID}/bandwidth/"),  # the read-only page that says why
        Visit(f"/services/{SERVICE_ID}/policies/"),
        Visit("/policies/"),
        Visit("/operations/"),
        Visit(f"/operations/{operation_pk}/"),
        Visit("/services/activity/"),
        Visit(f"/traffic/{CONNECTION}/?range=24h", ready="#traffic[data-drawn=true]"),
        Visit("/catalog/"),
        Visit("/api/tokens/"),  # a viewer may make read-only tokens
        Visit("/alerts/"),
        Visit("/alerts/subscription/"),
        Visit("/alerts/channels/"),
    ]


def admin_pages(tenant_pk: int, user_pk: int) -> list[Visit]:
    return [
        Visit("/services/"),  # staff without a tenant: the no-tenant page
        Visit("/staff/tenants/"),
        Visit(f"/staff/tenants/{tenant_pk}/"),
        Visit("/staff/users/"),
        Visit(f"/staff/users/{user_pk}/"),
        Visit("/staff/import/"),
        Visit("/staff/api-tokens/"),
        Visit("/staff/audit/"),
        Visit("/account/password/"),
        Visit("/account/sessions/"),
        Visit("/account/two-factor/"),
        Visit("/this-page-does-not-exist/"),
    ]


def check(page, found: list[str]) -> None:
    violations = axe_violations(page)
    if violations:
        found.append(describe_violations(page.url, violations))


def walk(page, base: str, visits: list[Visit], found: list[str]) -> None:
    for visit in visits:
        page.goto(base + visit.path)
        expect(page.locator(visit.ready).first).to_be_attached()
        check(page, found)


def choose_language(page, code: str) -> None:
    if code != "en":
        page.get_by_role("button", name=LANGUAGES[code]).click()
        expect(page.locator("html")).to_have_attribute("lang", code)


def a_finished_operation(username: str) -> int:
    """A bandwidth change that failed at IES, written as the worker writes it, so that the operation
    pages have something to show without a worker running."""
    from django.contrib.auth import get_user_model

    from portal.operations.models import Operation, OperationKind, OperationState
    from portal.services.models import Service

    service = Service.objects.get(ies_service_id=SERVICE_ID)
    user = get_user_model().objects.get(username=username)
    op = Operation.objects.create(
        tenant=service.tenant, service=service, kind=OperationKind.MODIFY, state=OperationState.FAILED,
        ies_service_id=SERVICE_ID, service_name=service.name, requested_by=user,
        message="The bandwidth is above the tenant's quota.")
    return op.pk


def an_api_token(username: str) -> None:
    """A live token of the user's, so that the token pages list one with its revoke button."""
    from django.contrib.auth import get_user_model

    from tests.portal.api.conftest import make_token

    user = get_user_model().objects.get(username=username)
    make_token(user, user.memberships.first().tenant, ["read"], name="a11y check")


def open_wizard(page, base: str, found: list[str]) -> None:
    """The catalog, a definition, the parameters step (empty, then refused), the review step."""
    from tests.e2e.test_order_flow import fill_form, order_values

    page.goto(base + "/catalog/")
    card = page.locator("li.def-card").filter(has=page.get_by_role("heading", name=SITE2DC_NAME, exact=True))
    card.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/catalog/definitions/[^/]+/$"))
    check(page, found)
    page.goto(base + "/catalog/")
    card.locator("button").first.click()
    expect(page).to_have_url(re.compile(r"/catalog/orders/new/[^/]+/$"))
    check(page, found)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".field-error, .error").first).to_be_visible()
    check(page, found)
    fill_form(page, order_values())
    page.locator("form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/review/$"))
    check(page, found)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_of_a_tenant_member_has_no_axe_violation(page, live_server, presets, language):
    base, found = live_server.url, []
    page.goto(base + "/login/")
    choose_language(page, language)
    check(page, found)  # the login page
    for path in ("/account/password/reset/", "/account/password/reset/sent/", "/account/password/reset/1/x/",
                 "/account/password/reset/done/"):  # the password reset's pages, signed out
        page.goto(base + path)
        check(page, found)
    page.goto(base + "/login/")
    page.goto(base + "/services/")
    log_in_here(page, "user1")
    expect(page.locator("h1")).to_be_visible()
    an_api_token("user1")
    walk(page, base, tenant_pages(a_finished_operation("user1")), found)
    open_wizard(page, base, found)
    assert not found, "\n\n".join(found)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_of_a_viewer_has_no_axe_violation(page, live_server, presets, language):
    from portal.tenants.models import Membership, Role

    user1_tenant = Membership.objects.get(user__username="user1").tenant
    Membership.objects.filter(user__username="user1", tenant=user1_tenant).update(role=Role.VIEWER)
    base, found = live_server.url, []
    log_in(page, base, "user1")
    expect(page.locator(".badge-muted")).to_be_visible()  # "read-only"
    choose_language(page, language)
    walk(page, base, viewer_pages(a_finished_operation("user1")), found)
    assert not found, "\n\n".join(found)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_of_an_admin_has_no_axe_violation(page, live_server, presets, language):
    from django.contrib.auth import get_user_model

    from portal.tenants.models import Tenant

    base, found = live_server.url, []
    log_in(page, base, "admin")
    expect(page.locator("h1")).to_be_visible()
    choose_language(page, language)
    tenant = Tenant.objects.get(name="nbitest_11")
    user = get_user_model().objects.get(username="user1")
    an_api_token("user1")
    walk(page, base, admin_pages(tenant.pk, user.pk), found)
    # A page with a message on it: the connection check's answer.
    page.goto(f"{base}/staff/tenants/{tenant.pk}/")
    page.locator(f"form[action$='/staff/tenants/{tenant.pk}/check/'] button").click()
    expect(page.locator(".messages li")).to_be_visible()
    check(page, found)
    assert not found, "\n\n".join(found)


def log_in_here(page, username: str) -> None:
    """The login form in whatever language the page is in (the fields are found by name)."""
    from tests.portal.conftest import DEMO_PASSWORD

    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").last.click()


RING = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  const behind = node => {
    for (let n = node.parentElement; n; n = n.parentElement) {
      const bg = getComputedStyle(n).backgroundColor;
      if (bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  return {tag: el.tagName.toLowerCase(), text: (el.textContent || el.name || '').trim().slice(0, 40),
          outline: [style.outlineStyle, parseFloat(style.outlineWidth), style.outlineColor],
          shadow: style.boxShadow, behind: behind(el)};
}"""


def luminance(color: str) -> float:
    r, g, b = (int(float(v)) / 255 for v in re.findall(r"[\d.]+", color)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ring_contrast(ring: dict) -> float:
    """The best contrast against what is behind the element among the ring's parts at least 2 px wide:
    the outline and a box-shadow spread (the white band of a two-tone ring)."""
    style, width, color = ring["outline"]
    parts = [color] if style != "none" and width >= 2 else []
    for shadow_color, spread in re.findall(r"(rgba?\([^)]*\))\s+0px 0px 0px (\d+(?:\.\d+)?)px", ring["shadow"]):
        if float(spread) >= 2:
            parts.append(shadow_color)
    return max((contrast(part, ring["behind"]) for part in parts), default=1.0)


def tab_to(page, selector: str, limit: int = 60) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return page.evaluate(RING)
    raise AssertionError(f"the keyboard never reached {selector}")


def test_the_focus_ring_stands_out_on_the_page_and_on_the_topbar(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.goto(live_server.url + f"/services/{SERVICE_ID}/")
    rings = [tab_to(page, ".topbar nav a"), tab_to(page, ".topbar button"), tab_to(page, "main a"),
             tab_to(page, "main a.button, main button")]
    page.goto(live_server.url + "/services/")
    rings += [tab_to(page, "main input[type=search]"), tab_to(page, "main select")]
    weak = [(ring["tag"], ring["text"], round(ring_contrast(ring), 2)) for ring in rings if ring_contrast(ring) < 3]
    assert not weak, weak
