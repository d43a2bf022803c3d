"""A user's own account: password change and reset by e-mail, sessions, the staff idle timeout, and
the audit of logins."""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from portal.accounts import services
from portal.accounts.models import UserSession
from portal.audit.models import AuditEvent
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sturdy-new-passphrase-42"


def _user(username="user1"):
    return get_user_model().objects.get(username=username)


def test_a_weak_password_is_refused_with_the_validators_message(login):
    client = login("user1")
    answer = post(client, "/account/password/", {"old_password": DEMO_PASSWORD, "new_password1": "password",
                                                 "new_password2": "password"})
    assert answer.status_code == 200
    assert "This password is too common." in answer.text
    assert _user().check_password(DEMO_PASSWORD)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(login):
    here, elsewhere = login("user1"), login("user1")
    assert elsewhere.get("/account/sessions/").status_code == 200
    answer = post(here, "/account/password/", {"old_password": DEMO_PASSWORD, "new_password1": NEW_PASSWORD,
                                               "new_password2": NEW_PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/account/password/changed/"
    assert here.get("/account/sessions/").status_code == 200
    gone = elsewhere.get("/account/sessions/")
    assert gone.status_code == 302 and "/login/" in gone["Location"]
    assert _user().check_password(NEW_PASSWORD)
    assert UserSession.objects.filter(user=_user()).count() == 1
    event = AuditEvent.objects.filter(action="user.password.change").get()
    assert event.actor == _user() and event.message == ""


def _ask_reset(client, email, **extra):
    return client.post("/account/password/reset/", {"email": email}, **extra)


def test_a_reset_by_email_end_to_end(presets):
    get_user_model().objects.filter(username="user1").update(email="user1@example.com")
    elsewhere = Client()
    assert elsewhere.login(username="user1", password=DEMO_PASSWORD)
    client = Client()
    answer = _ask_reset(client, "user1@example.com")
    assert answer.status_code == 302 and answer["Location"] == "/account/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["user1@example.com"] and "CloudVPN Portal" in message.subject
    assert message.alternatives and "text/html" in message.alternatives[0][1]
    link = re.search(r"https?://[^/\s]+(/account/password/reset/[^\s]+/)", message.body).group(1)
    page = client.get(link, follow=True)
    assert page.status_code == 200 and 'name="new_password1"' in page.text
    answer = client.post(page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/account/password/reset/done/"
    assert _user().check_password(NEW_PASSWORD)
    # Every session of the user ended; the link works once.
    assert elsewhere.get("/account/sessions/").status_code == 302
    again = Client().get(link, follow=True)
    assert "The password reset link was invalid" in again.text
    event = AuditEvent.objects.filter(action="user.password.reset_by_email").get()
    assert event.actor == _user()


def test_the_reset_mail_is_in_the_language_it_was_asked_in(presets):
    get_user_model().objects.filter(username="user2").update(email="user2@example.com")
    _ask_reset(Client(), "user2@example.com", HTTP_ACCEPT_LANGUAGE="zh-hans")
    (message,) = mail.outbox
    assert "重置" in message.subject
    assert "请访问以下页面并设置新密码" in message.body


def test_an_unknown_address_gets_the_same_page_and_no_mail(presets):
    answer = _ask_reset(Client(), "nobody@example.com")
    assert answer.status_code == 302 and answer["Location"] == "/account/password/reset/sent/"
    assert mail.outbox == []


def test_one_reset_mail_per_address_within_the_window(presets):
    get_user_model().objects.filter(username="user3").update(email="user3@example.com")
    first, second = _ask_reset(Client(), "user3@example.com"), _ask_reset(Client(), "USER3@example.com")
    assert first["Location"] == second["Location"] == "/account/password/reset/sent/"
    assert len(mail.outbox) == 1


def test_sessions_are_listed_and_signed_out_everywhere_else(login):
    here, other1, other2 = login("user1"), login("user1"), login("user1")
    page = here.get("/account/sessions/")
    assert page.status_code == 200
    assert page.text.count("this device") == 1 and page.text.count('action="/account/sessions/') == 3
    answer = post(here, "/account/sessions/others/end/")
    assert answer.status_code == 302
    for other in (other1, other2):
        assert other.get("/account/sessions/").status_code == 302
    assert here.get("/account/sessions/").status_code == 200
    event = AuditEvent.objects.filter(action="auth.sessions.end_others").get()
    assert event.actor == _user() and event.after == {"sessions": 2}


def test_one_other_session_is_signed_out(login):
    here, other, third = login("user1"), login("user1"), login("user1")
    other_id = other.session[services.SESSION_ID_KEY]
    assert post(here, f"/account/sessions/{other_id}/end/").status_code == 302
    assert other.get("/account/sessions/").status_code == 302
    assert third.get("/account/sessions/").status_code == 200
    assert not UserSession.objects.filter(pk=other_id).exists()
    # Someone else's session is not theirs to end.
    stranger = login("user2")
    assert post(stranger, f"/account/sessions/{third.session[services.SESSION_ID_KEY]}/end/").status_code == 302
    assert third.get("/account/sessions/").status_code == 200


def _idle(client, seconds):
    session = client.session
    session[services.LAST_SEEN_KEY] = time.time() - seconds
    session.save()


def test_staff_are_signed_out_when_idle_and_others_are_not(login, settings):
    settings.STAFF_IDLE_TIMEOUT_SECONDS = 1800
    staff, user = login("admin"), login("user1")
    _idle(staff, 1700)
    assert staff.get("/staff/tenants/").status_code == 200
    _idle(staff, 1801)
    answer = staff.get("/staff/tenants/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/?next=/staff/tenants/")
    assert "without activity" in staff.get(answer["Location"]).text
    assert staff.get("/staff/tenants/").status_code == 302
    _idle(user, 10 * 3600)
    assert user.get("/account/sessions/").status_code == 200


def test_logins_and_failed_logins_are_audited_without_the_password(presets):
    client = Client()
    client.post("/login/", {"username": "user1", "password": "not-the-password-xyz"})
    failed = AuditEvent.objects.filter(action="auth.login_failed").get()
    assert failed.after == {"username": "user1"} and failed.actor is None
    assert "not-the-password-xyz" not in repr(AuditEvent.objects.filter(action="auth.login_failed").values().get())
    client.post("/login/", {"username": "user1", "password": DEMO_PASSWORD})
    login_event = AuditEvent.objects.filter(action="auth.login").latest("pk")
    assert login_event.actor == _user()


def test_logout_drops_the_session_row(login):
    client = login("user1")
    page = client.get("/account/sessions/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    assert UserSession.objects.filter(user=_user()).count() == 1
    client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert UserSession.objects.filter(user=_user()).count() == 0
