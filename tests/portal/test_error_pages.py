"""The portal's own error pages with DEBUG off: styled, translated, with the reason and a way back,
never Django's plain or technical pages. Also the admin's landing page and the favicon."""

import re
import sqlite3
import time
from contextlib import contextmanager

import pytest
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.db import OperationalError, connection
from django.template import loader
from django.test import Client
from django.urls import path
from django.utils import translation

from portal import urls as portal_urls
from portal.services.mirror import service_mirror_sync
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.helpers import SITE2DC, csrf, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def main_of(answer) -> str:
    """The page's <main>: what the person reads (the header carries a per-response CSRF token)."""
    return re.search(r"<main id=\"main\">(.*)</main>", answer.text, re.S).group(1)


def test_it_shows_the_portals_404_with_a_way_back(login):
    answer = login("user1").get("/no/such/page/")
    assert answer.status_code == 404
    assert "Page not found" in answer.text
    assert 'href="/services/"' in main_of(answer)  # "Back to my services"
    assert 'class="topbar"' in answer.text  # in the portal's layout


def test_another_tenants_service_looks_exactly_like_a_missing_one(login, presets):
    other = Tenant.objects.get(name="nbitest_12")
    services = service_mirror_sync(tenant=other)
    assert services, "nbitest_12 has services at the simulator"
    user1 = login("user1")
    theirs = user1.get(f"/services/{services[0].ies_service_id}/")
    missing = user1.get("/services/0000000000000000no-such-service/")
    assert theirs.status_code == missing.status_code == 404
    assert main_of(theirs) == main_of(missing)
    assert "Page not found" in main_of(theirs)


def test_the_404_page_speaks_chinese(login):
    answer = login("user1").get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 404
    assert "页面不存在" in answer.text


def test_a_viewer_is_told_why_they_cannot_order_and_what_to_do(own_tenant):
    Membership.objects.filter(tenant=own_tenant.tenant, user__username="own2").update(role=Role.VIEWER)
    viewer = own_tenant.login("own2")
    answer = post(viewer, f"/catalog/definitions/{SITE2DC}/order/")
    assert answer.status_code == 403
    text = main_of(answer)
    assert f"Your role in tenant {own_tenant.name} is read-only (viewer)" in text
    assert "Ask a member of your team or a portal administrator." in text
    assert "Your order was not placed" in text
    assert 'href="/services/"' in text


def test_a_refused_htmx_request_replaces_the_main_part_with_the_reason(own_tenant):
    """The bandwidth editor posts in place: a member demoted meanwhile must see the 403's reason, so
    the answer tells htmx to put the page's main part where the editor's box was."""
    Membership.objects.filter(tenant=own_tenant.tenant, user__username="own2").update(role=Role.VIEWER)
    viewer = own_tenant.login("own2")
    answer = post(viewer, f"/services/{own_tenant.service_id}/bandwidth/", {"bandwidth_0": "80", "bandwidth_1": "Mbit/s"},
                  HTTP_HX_REQUEST="true")
    assert answer.status_code == 403
    assert (answer["HX-Retarget"], answer["HX-Reselect"], answer["HX-Reswap"]) == ("#main", "#main", "outerHTML")
    assert f"Your role in tenant {own_tenant.name} is read-only (viewer)" in main_of(answer)
    plain = post(viewer, f"/services/{own_tenant.service_id}/bandwidth/", {"bandwidth_0": "80", "bandwidth_1": "Mbit/s"})
    assert plain.status_code == 403 and "HX-Retarget" not in plain


def test_a_staff_only_refusal_shows_no_internal_message(login):
    answer = login("user1").get("/staff/tenants/")
    assert answer.status_code == 403
    assert "staff only" not in answer.text
    assert "Your account is not allowed to open this page" in main_of(answer)


def test_an_expired_form_says_so_and_that_nothing_was_sent(login):
    client = login("user1")
    client.get("/services/")
    answer = client.post("/tenant/switch/", {"tenant": "1", "csrfmiddlewaretoken": "stale" * 8},
                         HTTP_REFERER="http://testserver/services/")
    assert answer.status_code == 403
    text = main_of(answer)
    assert "This form has expired" in text
    assert "Nothing was sent to IES" in text
    assert 'href="http://testserver/services/"' in text  # back to the form


def test_an_expired_session_offers_to_log_in_again():
    client = Client(enforce_csrf_checks=True)
    answer = client.post("/login/", {"username": "user1", "password": "x"})
    assert answer.status_code == 403
    assert "Log in again" in main_of(answer)


def test_a_bad_request_gets_the_portals_400_page(login):
    answer = login("user1").get("/services/", HTTP_HOST="not-allowed.example")
    assert answer.status_code == 400
    assert "The portal could not read this request" in answer.text


@login_not_required
def crash(request):
    raise RuntimeError("boom")


@login_not_required
def locked(request):
    raise OperationalError("database is locked")


# The portal's own URLs and error handlers, and two views that fail on purpose.
urlpatterns = [path("crash/", crash), path("locked/", locked), *portal_urls.urlpatterns]
handler400, handler403, handler404, handler500 = (portal_urls.handler400, portal_urls.handler403,
                                                  portal_urls.handler404, portal_urls.handler500)


def test_a_crash_gets_the_portals_500_page_in_chinese_too(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    answer = client.get("/crash/")
    assert answer.status_code == 500
    assert "Something went wrong on our side" in answer.text
    assert "boom" not in answer.text and "Traceback" not in answer.text
    assert 'href="/"' in answer.text
    assert "<style>" in answer.text and 'class="topbar"' in answer.text  # the portal's look, inline
    answer = client.get("/crash/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "我们这边出了问题" in answer.text


# -- a busy database (issue 13, defect 9) ----------------------------------------------------------


def test_a_busy_database_in_a_view_gets_the_503_page_with_advice_in_chinese_too(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    answer = client.post("/locked/")
    assert answer.status_code == 503
    assert answer["Retry-After"] == "60"
    text = main_of(answer)
    assert "The portal's database is busy" in text
    assert "Your change was not saved." in text
    assert "Try again in a minute; if it persists, tell a portal administrator." in text
    assert "database is locked" not in answer.text
    looked = client.get("/locked/?page=2", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert looked.status_code == 503
    assert '<html lang="zh-hans">' in looked.text and "返回门户" in looked.text  # "Back to the portal"
    assert "请一分钟后重试；如果问题持续，请告知门户管理员。" in looked.text
    assert "Your change was not saved." not in looked.text
    assert 'href="/locked/?page=2"' in main_of(looked)  # "Try again"


def test_a_busy_database_answers_htmx_in_place_for_a_change_and_quietly_for_a_poll(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    change = client.post("/locked/", HTTP_HX_REQUEST="true")
    assert change.status_code == 503
    assert (change["HX-Retarget"], change["HX-Reselect"], change["HX-Reswap"]) == ("#main", "#main", "outerHTML")
    poll = client.get("/locked/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 503 and poll["HX-Reswap"] == "none" and "HX-Retarget" not in poll


def test_the_503_page_renders_without_any_context():
    with translation.override("en"):
        html = loader.get_template("503.html").render()
    assert "The portal's database is busy" in html and 'class="topbar"' in html


@contextmanager
def write_lock_held():
    """Another process's transaction holding locks on the test database, as a busy worker or a
    stuck script does: SQLite's write lock; on PostgreSQL, the login's and the session's tables."""
    if connection.vendor == "postgresql":
        import psycopg

        other = psycopg.connect(**connection.get_connection_params())
        try:
            other.execute("LOCK TABLE auth_user, django_session IN ACCESS EXCLUSIVE MODE")
            yield
        finally:
            other.rollback()
            other.close()
        return
    lock = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


@pytest.mark.django_db(transaction=True)
def test_logging_in_while_the_database_is_locked_gets_the_503_page_within_seconds(presets):
    """Before: 20 s of waiting, then Django's bare "Server Error (500)"."""
    client = Client(raise_request_exception=False)
    with write_lock_held():
        started = time.monotonic()
        answer = client.post("/login/", {"username": "user1", "password": DEMO_PASSWORD})
        waited = time.monotonic() - started
    assert answer.status_code == 503, answer.content[:300]
    assert "Your change was not saved." in answer.text
    assert waited < 15, f"the page waited {waited:.1f} s for the lock"  # a sanity bound, not a target
    assert client.post("/login/", {"username": "user1", "password": DEMO_PASSWORD}).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_lock_met_after_the_view_saving_the_session_also_gets_the_503_page(presets):
    client = Client(raise_request_exception=False)
    client.login(username="user1", password=DEMO_PASSWORD)
    tenant = Tenant.objects.get(name="nbitest_11")
    with write_lock_held():
        answer = client.post("/tenant/switch/", {"tenant": str(tenant.pk)})
    assert answer.status_code == 503
    assert "The portal's database is busy" in answer.text


def test_the_500_page_renders_without_any_context():
    # As Django's server_error renders it: no request, no context processors, no database.
    with translation.override("en"):
        html = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in html
    with translation.override("zh-hans"):
        assert "我们这边出了问题" in loader.get_template("500.html").render()


# -- the admin's landing ---------------------------------------------------------------------------


def main_nav(answer) -> str:
    return re.search(r'<nav aria-label="Main">(.*?)</nav>', answer.text, re.S).group(1)


def test_staff_outside_every_tenant_land_on_the_staff_pages_until_they_see_as_one(login):
    admin = login("admin")
    assert admin.get("/")["Location"] == "/staff/tenants/"
    nav = main_nav(admin.get("/staff/tenants/"))
    for hidden in ("My services", "Order", "Operations", "Traffic"):
        assert f">{hidden}<" not in nav
    assert ">Staff<" in nav

    # Seeing as a tenant gives them that tenant's pages, read-only, until they stop.
    tenant = Tenant.objects.get(name="nbitest_16")
    post(admin, f"/staff/tenants/{tenant.pk}/see-as/")
    assert admin.get("/")["Location"] == "/services/"
    nav = main_nav(admin.get("/services/"))
    assert ">My services<" in nav and ">Order<" in nav
    post(admin, "/staff/see-as/stop/")
    assert admin.get("/")["Location"] == "/staff/tenants/"


def test_logging_in_as_admin_lands_on_the_staff_pages(presets):
    client = Client(enforce_csrf_checks=True)
    answer = client.post("/login/", {"username": "admin", "password": DEMO_PASSWORD,
                                     "csrfmiddlewaretoken": csrf(client, "/login/")})
    assert answer["Location"] == "/staff/tenants/"


def test_no_tenant_yet_points_staff_to_their_pages_and_others_to_an_administrator(login, django_user_model):
    page = login("admin").get("/services/")
    assert "No tenant yet" in page.text
    assert 'href="/staff/tenants/"' in main_of(page)

    django_user_model.objects.create_user("lonely", password=DEMO_PASSWORD)
    client = Client()
    client.login(username="lonely", password=DEMO_PASSWORD)
    assert client.get("/")["Location"] == "/services/"
    page = client.get("/services/")
    assert "No tenant yet" in page.text
    assert "Ask a portal administrator" in page.text
    assert "/staff/" not in main_of(page)
    assert ">Order<" not in main_nav(page)  # the catalog needs a tenant


# -- favicon ---------------------------------------------------------------------------------------


def test_the_favicon_is_linked_and_served():
    answer = Client().get("/favicon.ico")
    assert answer.status_code == 301
    assert answer["Location"].endswith("/favicon.svg")
    assert finders.find("favicon.svg")
    assert 'rel="icon"' in Client().get("/login/").text
