"""The Content-Security-Policy in a real Chromium (issue 13, item 8): a member, a viewer and staff walk
the main pages and use what runs on them (htmx swaps and polls, the bandwidth reading, the wizard's
review step, the tenant switch, the traffic chart, the import) without one CSP violation, one
htmx eval refused or one script error; every page arrives under the strict policy, and the browser
enforces it (an injected inline script does not run).
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.helpers import log_in
from tests.e2e.test_order_flow import fill_form, open_site2dc_form, order_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVICE_ID = "8hiqoNgCSZmrlD1MyROJbg"  # user1's preset service (nbitest_11)
CONNECTION = "VPNS2S201705061433"

# In every document, before its own scripts: each violation the browser reports, said on the console
# (where the Watch below reads it) with what was refused and where.
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e => {
  console.error('CSP violation: ' + JSON.stringify({directive: e.violatedDirective, blocked: e.blockedURI,
    sample: e.sample, source: e.sourceFile, line: e.lineNumber, page: location.pathname}));
}, true);
"""


class Watch:
    """What went wrong while a test walked: CSP refusals, htmx's refused evals, script errors, and
    every page (document) that arrived without the strict policy."""

    def __init__(self, page, base: str) -> None:
        self.base = base
        self.problems: list[str] = []
        self.documents: list = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("response", self._response)

    def _console(self, message) -> None:
        text = message.text
        if ("Content Security Policy" in text or text.startswith(("CSP violation", "Refused to"))
                or "evalDisallowed" in text or "htmx:" in text and message.type == "error"):
            self.problems.append(f"{message.type}: {text[:400]}")

    def _response(self, response) -> None:
        if response.request.resource_type == "document" and response.url.startswith(self.base):
            self.documents.append(response)

    def assert_clean(self) -> None:
        for response in self.documents:
            if response.status in (204, 301, 302, 303):  # no document (204: the test's own stand-in)
                continue
            policy = response.all_headers().get("content-security-policy", "")
            script_src = next((d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["script-src"]), [])
            if not any(v.startswith("'nonce-") for v in script_src) or "'unsafe-inline'" in policy \
                    or "'unsafe-eval'" in policy or "default-src 'self'" not in policy:
                self.problems.append(f"{response.url} ({response.status}): not under the strict policy: {policy!r}")
        self.documents.clear()
        assert not self.problems, "\n".join(self.problems)


def mirror_all() -> None:
    from portal.services.mirror import service_mirror_sync
    from portal.tenants.models import Tenant

    for tenant in Tenant.objects.all():
        service_mirror_sync(tenant=tenant)


def an_operation_in_flight(username: str) -> int:
    """A bandwidth change IES is working on, as the worker writes it: its page shows the progress bar
    and polls (no worker runs, so it stays in flight for the whole test)."""
    from django.contrib.auth import get_user_model

    from portal.operations.models import Operation, OperationKind, OperationState
    from portal.services.models import Service

    service = Service.objects.get(ies_service_id=SERVICE_ID)
    now = timezone.now()
    op = Operation.objects.create(
        tenant=service.tenant, service=service, kind=OperationKind.MODIFY, state=OperationState.PROCESSING,
        ies_service_id=SERVICE_ID, service_name=service.name, ies_operation_id="csp-test",
        requested_by=get_user_model().objects.get(username=username), submitted_at=now - timedelta(seconds=120),
        expected_seconds=600, give_up_at=now + timedelta(hours=1), next_poll_at=now + timedelta(hours=1))
    return op.pk


def next_swap(page, selector: str) -> None:
    """Wait for htmx to swap new content into the element (a poll's answer)."""
    page.evaluate("""selector => new Promise((resolve, reject) => {
      const done = e => { if (e.detail.target.matches(selector) || e.detail.target.closest(selector)) resolve(true); };
      document.body.addEventListener('htmx:afterSettle', done);
      setTimeout(() => reject(new Error('no htmx swap of ' + selector)), 12000);
    })""", selector)


def test_a_member_uses_the_tenant_pages_without_a_csp_violation(page, live_server, presets):
    from django.contrib.auth import get_user_model

    from portal.tenants.models import Membership, Tenant

    base = live_server.url
    mirror_all()
    user1 = get_user_model().objects.get(username="user1")
    other = Tenant.objects.get(name="nbitest_12")
    Membership.objects.create(user=user1, tenant=other)  # so that the header offers the tenant switch
    operation = an_operation_in_flight("user1")
    watch = Watch(page, base)

    page.goto(base + "/login/")
    log_in(page, base, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    # The list's search swaps the results in place (htmx) and keeps the address in step.
    page.locator("input[name=q]").fill("s2s_2017")
    expect(page).to_have_url(re.compile(r"[?&]q=s2s_2017"))
    expect(page.get_by_role("row").filter(has_text="s2s_201705061433")).to_be_visible()

    page.goto(f"{base}/services/{SERVICE_ID}/")
    expect(page.locator("h1")).to_be_visible()
    next_swap(page, "#service-running")  # the running change's notice polls

    # The bandwidth editor: the reading beside the box (hx-get), then the review (hx-post with the CSRF header).
    page.goto(f"{base}/services/{SERVICE_ID}/bandwidth/")
    card = page.locator("#bandwidth-card")
    card.get_by_role("textbox", name="New bandwidth").fill("1,000")
    expect(page.get_by_test_id("bandwidth-reading")).to_have_text("= 1 Gbit/s")
    card.get_by_role("button", name="Review the change").click()
    expect(card.get_by_test_id("bandwidth-preview")).to_contain_text("→ 1 Gbit/s")

    page.goto(f"{base}/operations/")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{base}/operations/{operation}/")
    bar = page.get_by_role("progressbar", name="Estimated progress")
    expect(bar).to_be_visible()
    assert 0 < int(bar.get_attribute("value")) < 100
    next_swap(page, "#op-status")  # the status fragment polls and is swapped in

    page.goto(f"{base}/traffic/")
    expect(page.locator(".traffic-card canvas").first).to_be_attached()
    page.goto(f"{base}/traffic/{CONNECTION}/?range=24h")
    expect(page.locator("#traffic[data-drawn=true]")).to_be_attached()  # the chart drew its data
    expect(page.locator("#traffic canvas").first).to_be_visible()

    # The order wizard up to its review step, whose guard disables "Place order" once it is pressed.
    open_site2dc_form(page, base)
    fill_form(page, order_values())
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    # The order itself is not sent: an empty answer keeps this page, to see the button as it was left.
    page.route(re.compile(r"/review/$"), lambda route: route.fulfill(status=204) if route.request.method == "POST"
               else route.continue_())
    place = page.get_by_role("button", name="Place order")
    place.click()
    expect(place).to_be_disabled()
    page.unroute(re.compile(r"/review/$"))

    # The tenant switch submits itself when another tenant is chosen.
    page.goto(f"{base}/services/")
    with page.expect_navigation(url=re.compile(r"/services/$")):
        page.locator("#tenant-switch").select_option(label="nbitest_12")
    expect(page.locator("#tenant-switch option:checked")).to_have_text("nbitest_12")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()

    page.goto(f"{base}/services/no-such-service/")  # the 404 page
    expect(page.locator("main")).to_be_attached()
    watch.assert_clean()

    # The policy is the browser's, not only a header: an inline script injected into the page is refused.
    ran = page.evaluate("""() => new Promise(resolve => {
      document.addEventListener('securitypolicyviolation', () => resolve(window.__injected === true), {once: true});
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true';
      document.head.append(script);
      setTimeout(() => resolve('no violation reported'), 3000);
    })""")
    assert ran is False, ran


def test_a_viewer_reads_the_tenant_pages_without_a_csp_violation(page, live_server, presets):
    from portal.tenants.models import Membership, Role

    base = live_server.url
    mirror_all()
    Membership.objects.filter(user__username="user1").update(role=Role.VIEWER)
    operation = an_operation_in_flight("user1")
    watch = Watch(page, base)

    log_in(page, base, "user1")
    expect(page.locator(".badge-muted")).to_be_visible()  # "read-only"
    for path, ready in [("/services/", "h1"), (f"/services/{SERVICE_ID}/", "h1"),
                        (f"/services/{SERVICE_ID}/bandwidth/", "h1"), ("/operations/", "h1"),
                        (f"/operations/{operation}/", "progress"), ("/catalog/", "h1"),
                        (f"/traffic/{CONNECTION}/?range=24h", "#traffic[data-drawn=true]")]:
        page.goto(base + path)
        expect(page.locator(ready).first).to_be_attached()
    next_swap(page, "#ops-badge")  # the header's badge polls while something runs
    # While the tab is hidden it does not (static/js/portal.js, in place of an eval'd trigger filter).
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/operations/badge/" in request.url else None)
    page.evaluate("() => Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true})")
    page.wait_for_timeout(6_000)  # longer than the badge's 5 s
    assert polls == [], polls
    page.evaluate("() => { delete document.visibilityState; }")
    next_swap(page, "#ops-badge")
    watch.assert_clean()


def test_staff_use_the_staff_pages_without_a_csp_violation(page, live_server, presets):
    from django.contrib.auth import get_user_model

    from portal.tenants.models import Tenant
    from tests.portal.staff.deck_table import pasted

    base = live_server.url
    tenant = Tenant.objects.get(name="nbitest_11")
    user = get_user_model().objects.get(username="user1")
    watch = Watch(page, base)

    log_in(page, base, "admin")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{base}/staff/tenants/")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{base}/staff/tenants/{tenant.pk}/")
    expect(page.locator("select[name=role]").first).to_be_visible()
    page.goto(f"{base}/staff/users/")
    page.locator("#q").fill("user1")
    page.locator("form[role=search] button[type=submit], form[role=search] [type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"[?&]q=user1"))
    page.goto(f"{base}/staff/users/{user.pk}/")
    expect(page.locator("h1")).to_be_visible()

    # Seeing as a tenant: the banner on the tenant's pages, then back.
    page.goto(f"{base}/staff/tenants/{tenant.pk}/")
    page.get_by_role("button", name="See as this tenant").click()
    expect(page.locator(".see-as")).to_be_visible()
    page.get_by_role("button", name="Stop seeing as this tenant").click()
    expect(page.locator(".see-as")).to_have_count(0)

    # The import: the preview (with its "replace the token" boxes), then applied.
    page.goto(f"{base}/staff/import/")
    page.get_by_label("…or paste the table").fill(pasted())
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name=re.compile("Import preview"))).to_be_visible()
    expect(page.locator("input[name=replace]").first).to_be_visible()
    page.get_by_role("button", name="Apply all changes").click()
    expect(page.get_by_text(re.compile("Import applied"))).to_be_visible()

    page.goto(f"{base}/staff/audit/")
    page.locator("form.audit-filters button[type=submit]").click()
    expect(page.locator("table").first).to_be_visible()
    watch.assert_clean()
