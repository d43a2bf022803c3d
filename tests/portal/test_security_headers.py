"""Content-Security-Policy and Cache-Control on the portal's answers (issue 13, item 8).

Every page carries Django's CSP with a fresh nonce: scripts only from the portal's own files or with
that nonce, never 'unsafe-inline' nor 'unsafe-eval'; no inline style. Every answer to a signed-in
user (pages, HTMX fragments, JSON, CSV and spreadsheet exports) is `no-store, private`. The browser
side (no violation on any page, the scripts still working) is tests/e2e/test_csp.py.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template import loader

from portal.core.csp import style_hash
from portal.services.mirror import service_mirror_sync
from portal.tenants.models import Tenant
from tests.portal.helpers import post, site2dc_form, start_wizard

pytestmark = pytest.mark.django_db

SERVICE_ID = "8hiqoNgCSZmrlD1MyROJbg"  # user1's preset service (nbitest_11)
CONNECTION = "VPNS2S201705061433"
TEMPLATES = Path(settings.BASE_DIR) / "templates"

TENANT_PAGES = [
    "/services/",
    f"/services/{SERVICE_ID}/",
    f"/services/{SERVICE_ID}/bandwidth/",
    f"/services/{SERVICE_ID}/delete/",
    "/services/activity/",
    "/catalog/",
    "/operations/",
    "/traffic/",
    f"/traffic/{CONNECTION}/?range=24h",
    "/services/no-such-service/",  # the 404 page
]
STAFF_PAGES = ["/staff/tenants/", "/staff/users/", "/staff/import/", "/staff/audit/"]


@pytest.fixture
def member(login):
    for tenant in Tenant.objects.all():
        service_mirror_sync(tenant=tenant)
    return login("user1")


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy header"
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


class Scripts(HTMLParser):
    """Each <script>'s attributes, each style="…" and on…= attribute, each nonce, in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_attributes: list[str] = []
        self.nonces: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
        if "nonce" in named:
            self.nonces.add(named["nonce"] or "")
        self.inline_attributes += [f"<{tag} {name}=…>" for name in named
                                   if name == "style" or name.startswith("on") or name.startswith("hx-on")]


def assert_strict_policy(response) -> str:
    """The policy's directives as the issue has them; returns the nonce it carries."""
    policy = directives(response)
    path = response.request["PATH_INFO"]
    script_src = policy["script-src"]
    nonces = [v for v in script_src if v.startswith("'nonce-")]
    assert len(nonces) == 1, f"{path}: script-src without its nonce: {script_src}"
    assert "'self'" in script_src
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive], (path, policy)
    assert policy["default-src"] == ["'self'"]
    assert [v for v in policy["style-src"] if not v.startswith("'sha256-")] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert "style-src-attr" not in policy and "script-src-attr" not in policy
    return nonces[0].removeprefix("'nonce-").removesuffix("'")


def assert_page_needs_nothing_inline(response, nonce: str) -> None:
    """What the browser would refuse under the policy: nothing of it is in the page."""
    path = response.request["PATH_INFO"]
    page = Scripts()
    page.feed(response.text)
    assert page.nonces <= {nonce}, f"{path}: a nonce other than the header's: {page.nonces}"
    for script in page.scripts:
        src, kind = script.get("src"), script.get("type")
        assert (src and src.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/")
                                       else "/" + settings.STATIC_URL)) or kind == "application/json" \
            or script.get("nonce") == nonce, f"{path}: a script the policy refuses: {script}"
    assert not page.inline_attributes, f"{path}: inline style or handler attributes: {page.inline_attributes}"


@pytest.mark.parametrize("path", TENANT_PAGES)
def test_it_sends_the_policy_with_a_nonce_on_every_tenant_page(member, path):
    page = member.get(path)
    assert page.status_code in (200, 404), (path, page.status_code)
    assert_page_needs_nothing_inline(page, assert_strict_policy(page))


def test_it_sends_the_policy_on_the_wizard_and_its_review_step(login):
    client = login("user1")
    parameters_url = f"/catalog/orders/new/{start_wizard(client)}/"
    form = client.get(parameters_url)
    assert_page_needs_nothing_inline(form, assert_strict_policy(form))
    review = post(client, parameters_url, site2dc_form(), follow=True)
    assert review.status_code == 200 and "Review your order" in review.text, review.text[:500]
    assert_page_needs_nothing_inline(review, assert_strict_policy(review))
    assert "data-submit-once" in review.text  # the guard is declared; static/js/portal.js attaches it


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_it_sends_the_policy_with_a_nonce_on_every_staff_page(login, path):
    page = login("admin").get(path)
    assert page.status_code == 200, (path, page.status_code)
    assert_page_needs_nothing_inline(page, assert_strict_policy(page))


def test_it_sends_the_policy_on_a_tenants_and_a_users_staff_page(login):
    from django.contrib.auth import get_user_model

    admin = login("admin")
    tenant = Tenant.objects.get(name="nbitest_11")
    user = get_user_model().objects.get(username="user1")
    for path in (f"/staff/tenants/{tenant.pk}/", f"/staff/users/{user.pk}/"):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert_page_needs_nothing_inline(page, assert_strict_policy(page))


def test_it_sends_the_policy_on_the_login_page(client, presets):
    page = client.get("/login/")
    assert_page_needs_nothing_inline(page, assert_strict_policy(page))


def test_each_answer_has_its_own_nonce(member):
    first, second = (assert_strict_policy(member.get("/services/")) for _ in range(2))
    assert first != second


def test_the_error_pages_styles_are_allowed_by_their_hash(member):
    """500 and 400 render without a request (no nonce) and with their own <style>: its hash is allowed,
    as is that of any other <style> block a template has."""
    allowed = directives(member.get("/services/"))["style-src"]
    for name in ("500.html", "400.html"):
        blocks = re.findall(r"<style>(.*?)</style>", loader.render_to_string(name), re.DOTALL)
        assert blocks, f"{name} has no <style> any more: drop its hash from SECURE_CSP"
        for css in blocks:
            assert style_hash(css) in allowed, f"{name}'s <style> is refused by the policy"
    for template in sorted(TEMPLATES.rglob("*.html")):
        for css in re.findall(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.DOTALL):
            assert style_hash(css) in allowed, f"{template.relative_to(TEMPLATES)}: a <style> the policy refuses"


def test_no_template_needs_an_inline_script_style_attribute_handler_or_eval():
    """Inline scripts, style="…", on…= handlers, hx-on and eval'd htmx (js: values, trigger filters)
    are all refused by the policy or by htmx's allowEval=false: none may come back."""
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        name = template.relative_to(TEMPLATES)
        found += [f"{name}: inline <script>" for _ in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>",
                                                                   text)]
        found += [f"{name}: {m.group(0)}" for m in re.finditer(r"\s(style|on[a-z]+|hx-on[:\w-]*)=", text)]
        found += [f"{name}: {m.group(0)}" for m in re.finditer(r"hx-vals=[\"'](js|javascript):", text)]
        # A filter follows its event ("every 3s [cond]", "click[cond]"); "from:input[name=q]" is a selector.
        found += [f"{name}: {m.group(0)}" for m in re.finditer(r'hx-trigger="(?:[^"]*,)?\s*(?:every\s+\S+|[\w:.-]+)\s*\[',
                                                               text)]
    assert not found, "\n".join(found)


# -- Cache-Control -----------------------------------------------------------------------------------


def assert_not_stored(response) -> None:
    path = response.request["PATH_INFO"]
    parts = {p.strip() for p in response.headers.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= parts, f"{path}: Cache-Control {response.headers.get('Cache-Control')!r}"
    assert "public" not in parts


@pytest.mark.parametrize("path", TENANT_PAGES)
def test_no_tenant_page_is_stored(member, path):
    assert_not_stored(member.get(path))


def test_no_htmx_fragment_nor_chart_data_is_stored(member):
    fragment = member.get("/services/", {"q": "s2s"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="results">')
    assert_not_stored(fragment)
    badge = member.get("/operations/badge/", headers={"HX-Request": "true"})
    assert badge.status_code == 200
    assert_not_stored(badge)
    data = member.get(f"/traffic/{CONNECTION}/data.json", {"range": "24h", "width": "600"})
    assert data.status_code == 200 and data["Content-Type"] == "application/json"
    assert_not_stored(data)


def test_no_export_is_stored_and_each_still_downloads(member, login):
    traffic = member.get(f"/traffic/{CONNECTION}/export.csv", {"range": "24h"})
    assert traffic.status_code == 200 and traffic["Content-Type"].startswith("text/csv")
    assert "attachment" in traffic["Content-Disposition"] and b"," in b"".join(
        traffic.streaming_content if traffic.streaming else [traffic.content])
    assert_not_stored(traffic)
    admin = login("admin")
    for path, kind in (("/staff/export.csv", "text/csv"),
                       ("/staff/export.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                       ("/staff/audit/export.csv", "text/csv")):
        answer = admin.get(path)
        assert answer.status_code == 200 and answer["Content-Type"].startswith(kind), (path, answer["Content-Type"])
        assert "attachment" in answer["Content-Disposition"], path
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        assert body, path
        assert_not_stored(answer)


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_no_staff_page_is_stored(login, path):
    assert_not_stored(login("admin").get(path))



def test_a_refused_form_page_is_private_and_revalidated_but_kept_for_the_back_button(login):
    """The wizard's form refused, shown again: not shared, not reused, but kept so that "back" shows it
    as typed (tests/e2e/test_order_flow.py goes back to it). A generated password is never kept."""
    client = login("user1")
    refused = post(client, f"/catalog/orders/new/{start_wizard(client)}/", site2dc_form(VNI="0"))
    assert refused.status_code in (200, 400) and "Enter 1 or more." in refused.text
    parts = {p.strip() for p in refused.headers["Cache-Control"].split(",")}
    assert {"private", "no-cache"} <= parts and "no-store" not in parts
    assert_strict_policy(refused)
    admin = login("admin")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="user2")
    password = post(admin, f"/staff/users/{user.pk}/password/", {"generate": "on"})
    assert password.status_code == 200 and 'id="generated-password"' in password.text, password.status_code
    assert {"no-store", "private"} <= {p.strip() for p in password.headers["Cache-Control"].split(",")}
