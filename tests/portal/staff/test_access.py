"""Only staff reach the staff pages and the Django admin; viewers change nothing anywhere.

The URLs are read from the URL conf, not listed by hand, so that a page added later is covered
without anyone remembering to add it here.
"""

import re
import uuid

import pytest
from django.urls import URLResolver, get_resolver, resolve

from portal.tenants.models import Membership, Role, Tenant
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db

DUMMY = {"int": "1", "str": "1", "path": "1", "slug": "x", "uuid": str(uuid.UUID(int=1))}
# The admin's own login and logout pages answer anyone, by design.
PUBLIC = {"admin:login", "admin:logout"}


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), inner)
        else:
            yield prefix + str(p.pattern), f"{namespace}{p.name}" if p.name else "", p


def _fill(route: str) -> str:
    """A concrete URL for a route: converters get dummy values, regex groups their first choice."""
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: DUMMY[m.group(1) or "str"], route)
    route = re.sub(r"\(\?P<\w+>([^)]*)\)", lambda m: m.group(1).split("|")[0].replace(".*", "x"), route)
    return "/" + route.replace("^", "").replace("$", "")


def protected_urls() -> list[tuple[str, str]]:
    urls = []
    for route, name, _pattern in _walk(get_resolver().url_patterns):
        if route.startswith(("staff/", "admin/")) and name not in PUBLIC:
            urls.append((_fill(route), name or route))
    return urls


STAFF_URLS = [(url, name) for url, name in protected_urls() if url.startswith("/staff/")]
ADMIN_URLS = [(url, name) for url, name in protected_urls() if url.startswith("/admin/")]


def test_the_walk_finds_every_staff_page():
    names = {name for _, name in STAFF_URLS}
    assert len(STAFF_URLS) >= 26
    assert {"staff:tenant_list", "staff:import_apply", "staff:see_as_stop", "audit:list",
            "audit:export"} <= names
    for url, _name in protected_urls():
        resolve(url)  # every filled-in URL really reaches its view


@pytest.mark.parametrize(("url", "name"), STAFF_URLS)
def test_every_staff_view_is_marked_staff_only(url, name):
    assert getattr(resolve(url).func, "staff_required", False), f"{name} lacks @staff_required"


@pytest.mark.parametrize(("url", "name"), STAFF_URLS + ADMIN_URLS)
def test_it_sends_anonymous_visitors_to_the_login_page(client, presets, url, name):
    for method in ("get", "post"):
        answer = getattr(client, method)(url)
        assert answer.status_code == 302, (method, name, answer.status_code)
        assert "/login/" in answer["Location"], (method, name)


@pytest.mark.parametrize(("url", "name"), STAFF_URLS)
def test_it_refuses_staff_pages_to_tenant_users(login, url, name):
    client = login("user1")
    assert client.get(url).status_code == 403, name
    assert post(client, url, {"active": "0", "role": "viewer", "username": "user1"}).status_code == 403, name


@pytest.mark.parametrize(("url", "name"), ADMIN_URLS)
def test_it_keeps_tenant_users_out_of_the_django_admin(login, url, name):
    client = login("user1")
    for answer in (client.get(url), post(client, url)):
        assert answer.status_code in (302, 403), (name, answer.status_code)
        if answer.status_code == 302:
            assert "/admin/login/" in answer["Location"]


def test_a_disabled_staff_user_is_refused(staff, django_user_model):
    django_user_model.objects.filter(username="admin").update(is_active=False)
    answer = staff.get("/staff/tenants/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]


@pytest.mark.parametrize(("url", "name"), [(u, n) for u, n in STAFF_URLS if "export" not in u])
def test_staff_can_open_every_staff_page(staff, url, name):
    answer = staff.get(url)
    assert answer.status_code in (200, 302, 404, 405), (name, answer.status_code)


@pytest.mark.parametrize(("url", "name"), ADMIN_URLS)
def test_staff_can_look_at_the_admin_which_is_read_only_for_tenants(staff, url, name):
    answer = staff.get(url)
    assert answer.status_code in (200, 302, 403, 404), (name, answer.status_code)
    if name in ("admin:tenants_tenant_add", "admin:tenants_tenant_delete", "admin:tenants_membership_add"):
        assert answer.status_code == 403
    if name == "admin:tenants_tenant_change":
        # The enumerated URL names a dummy id; a real tenant's page shows its masked token (ids are
        # not reset between tests on PostgreSQL, so look the id up).
        from django.urls import reverse

        from portal.tenants.models import Tenant

        tenant = Tenant.objects.order_by("pk").first()
        answer = staff.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
        assert answer.status_code == 200 and "…" in answer.text


# -- viewers ---------------------------------------------------------------------------------------

# Tenant pages a viewer may POST to: they change nothing a tenant owns. ("Mark all as read" is not
# one: it is a change, refused to read-only roles since issue 13.)
# "Refresh from IES" on the list (a POST, since it starts work) only asks IES again: a read, which a
# viewer may ask for. (The detail page's refresh is tested on a real service in tests/portal/services.)
# A viewer may make an API token of their own (it reads only): the token page answers their POST.
VIEWER_ALLOWED_POSTS = {"logout", "set_language", "tenant_switch", "services:list", "api_tokens:list"}
# A user's own account (portal.accounts): their password and sessions, nothing a tenant owns.
VIEWER_ALLOWED_POSTS |= {"accounts:password_change", "accounts:password_reset", "accounts:password_reset_confirm",
                         "accounts:session_end_others", "accounts:session_sign_out"}
# Their own second factor (portal.twofactor).
VIEWER_ALLOWED_POSTS |= {"twofactor:verify", "twofactor:setup", "twofactor:regenerate", "twofactor:remove"}
# Their own alert e-mail (portal.alerts): which alerts reach them, nothing the tenant's rules say.
VIEWER_ALLOWED_POSTS |= {"alerts:subscription"}
KNOWN_WRITES = [
    "/catalog/definitions/x/order/",
    "/catalog/orders/new/x/",
    "/catalog/orders/new/x/review/",
    "/catalog/orders/1/correct/",
    "/operations/1/recheck/",
]


@pytest.fixture
def viewer(login):
    """user2, made a read-only member of nbitest_12."""
    Membership.objects.filter(user__username="user2", tenant__name="nbitest_12").update(role=Role.VIEWER)
    return login("user2")


@pytest.mark.parametrize("url", KNOWN_WRITES)
def test_a_viewer_gets_403_on_every_write(viewer, url):
    assert post(viewer, url, {"service_name": "x"}).status_code == 403


def test_a_viewer_cannot_change_anything_on_any_tenant_page(viewer):
    """Every tenant URL (outside staff/admin): a viewer's POST is refused (403) or not a POST
    endpoint (405), never a success or a redirect after a change."""
    checked = 0
    for route, name, _pattern in _walk(get_resolver().url_patterns):
        # The API (/api/v1/) answers to tokens, not sessions: its roles and scopes are walked by
        # tests/portal/api (a session's POST there is a 401, its documents are public).
        if (route.startswith(("staff/", "admin/", "api/v1/")) or name in VIEWER_ALLOWED_POSTS
                or name in ("login", "healthz")):
            continue
        url = _fill(route)
        answer = post(viewer, url, {"service_name": "x"})
        assert answer.status_code in (403, 404, 405), (name or route, answer.status_code)
        checked += 1
    assert checked >= len(KNOWN_WRITES)


def test_a_viewer_order_changes_nothing(viewer):
    from portal.catalog.models import Order

    before = Order.objects.count()
    post(viewer, "/catalog/definitions/x/order/")
    assert Order.objects.count() == before
    assert Tenant.objects.get(name="nbitest_12").memberships.get(user__username="user2").role == Role.VIEWER
