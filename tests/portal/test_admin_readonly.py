"""Django's admin is read-only for everyone, superusers included (issue 13, defect 6): it cannot add,
change or delete users, memberships or anything else, and an empty POST confirms nothing."""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.test import Client

from portal.audit.models import AuditEvent
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(presets) -> Client:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    token = client.cookies["csrftoken"].value
    answer = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": DEMO_PASSWORD,
                                                        "csrfmiddlewaretoken": token, "next": "/admin/"})
    assert page.status_code == 200 and answer.status_code == 302
    assert User.objects.get(username="admin").is_superuser
    return client


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_it_shows_users_memberships_tenants_and_login_failures(admin_client):
    for url in ("/admin/", "/admin/auth/user/", "/admin/auth/group/", "/admin/tenants/membership/",
                "/admin/tenants/tenant/", "/admin/axes/accessattempt/", "/admin/audit/auditevent/"):
        answer = admin_client.get(url)
        assert answer.status_code in (200, 404), url  # 404: a model the admin does not list
    user1 = User.objects.get(username="user1")
    page = admin_client.get(f"/admin/auth/user/{user1.pk}/change/")
    assert page.status_code == 200 and "user1" in page.text
    assert 'name="_save"' not in page.text  # view-only


def test_it_cannot_add_a_user(admin_client):
    assert admin_client.get("/admin/auth/user/add/").status_code == 403
    answer = post(admin_client, "/admin/auth/user/add/", {"username": "intruder", "password1": "Very-long-pass-1",
                                                           "password2": "Very-long-pass-1", "usable_password": "true"})
    assert answer.status_code == 403
    assert not User.objects.filter(username="intruder").exists()


def test_it_cannot_grant_superuser_nor_change_a_password(admin_client):
    user1 = User.objects.get(username="user1")
    answer = post(admin_client, f"/admin/auth/user/{user1.pk}/change/", {
        "username": "user1", "is_active": "on", "is_staff": "on", "is_superuser": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00"})
    assert answer.status_code == 403
    answer = post(admin_client, f"/admin/auth/user/{user1.pk}/password/",
                  {"password1": "Another-long-pass-2", "password2": "Another-long-pass-2"})
    assert answer.status_code == 403
    user1.refresh_from_db()
    assert not user1.is_staff and not user1.is_superuser and user1.check_password(DEMO_PASSWORD)


def test_an_empty_post_to_a_delete_confirmation_deletes_nothing(admin_client):
    user1 = User.objects.get(username="user1")
    assert admin_client.get(f"/admin/auth/user/{user1.pk}/delete/").status_code == 403
    assert post(admin_client, f"/admin/auth/user/{user1.pk}/delete/").status_code == 403
    membership = Membership.objects.filter(user=user1).first()
    assert post(admin_client, f"/admin/tenants/membership/{membership.pk}/delete/").status_code == 403
    tenant = Tenant.objects.first()
    assert post(admin_client, f"/admin/tenants/tenant/{tenant.pk}/delete/").status_code == 403
    assert User.objects.filter(pk=user1.pk).exists() and Membership.objects.filter(pk=membership.pk).exists()
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_bulk_actions_delete_nothing(admin_client):
    ids = [str(pk) for pk in User.objects.exclude(username="admin").values_list("pk", flat=True)]
    answer = post(admin_client, "/admin/auth/user/", {"action": "delete_selected", "_selected_action": ids,
                                                      "post": "yes"})
    assert answer.status_code in (200, 302, 403)
    assert User.objects.filter(pk__in=ids).count() == len(ids)


def test_it_cannot_add_a_membership_a_group_or_clear_login_failures(admin_client, presets):
    user1 = User.objects.get(username="user1")
    tenant = Tenant.objects.exclude(memberships__user=user1).first()
    answer = post(admin_client, "/admin/tenants/membership/add/",
                  {"user": user1.pk, "tenant": tenant.pk, "role": Role.MEMBER})
    assert answer.status_code == 403 and not Membership.objects.filter(user=user1, tenant=tenant).exists()
    assert post(admin_client, "/admin/auth/group/add/", {"name": "mighty"}).status_code == 403
    assert not Group.objects.exists()
    Client().post("/login/", {"username": "user1", "password": "wrong"})
    attempt = AccessAttempt.objects.get()
    assert post(admin_client, f"/admin/axes/accessattempt/{attempt.pk}/delete/").status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert not AuditEvent.objects.filter(action__in=["membership.create", "user.update", "user.delete"]).exists()


def test_it_has_no_password_change_page(admin_client):
    """It would write the staff member's own password, past the login throttle."""
    assert admin_client.get("/admin/password_change/").status_code == 404
    answer = post(admin_client, "/admin/password_change/", {"old_password": DEMO_PASSWORD,
                                                            "new_password1": "Another-long-pass-2",
                                                            "new_password2": "Another-long-pass-2"})
    assert answer.status_code == 404
    assert admin_client.get("/admin/password_change/done/").status_code == 404
    assert User.objects.get(username="admin").check_password(DEMO_PASSWORD)
    assert admin_client.get("/admin/").status_code == 200  # the rest of the admin still renders


def _links(html: str, base: str) -> set[str]:
    """Every same-site link of a page, made absolute against `base` (forms post: not links)."""
    found: set[str] = set()

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            target = dict(attrs).get("href") if tag == "a" else None
            if target and not target.startswith(("#", "javascript:", "mailto:")):
                url = urlsplit(urljoin(base, target))
                if url.netloc in ("", "testserver"):
                    found.add(url.path + (f"?{url.query}" if url.query else ""))

    Links().feed(html)
    return found


def test_no_link_on_the_index_nor_a_users_page_leads_nowhere(admin_client):
    """"Change password", at the top right of every admin page, led to a 404: every link of these
    pages leads somewhere that answers, not a 404, a 403 nor a 500 (redirects followed)."""
    user1 = User.objects.get(username="user1")
    broken = []
    for page in ("/admin/", f"/admin/auth/user/{user1.pk}/change/"):
        answer = admin_client.get(page)
        assert answer.status_code == 200, page
        links = _links(answer.text, page)
        assert f"/admin/auth/user/{user1.pk}/history/" in links or page == "/admin/", links
        for link in sorted(links):
            status = admin_client.get(link, follow=True).status_code
            if status in (403, 404) or status >= 500:
                broken.append(f"{page} → {link}: {status}")
    assert not broken
