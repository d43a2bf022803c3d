import re

import pytest
from django.test import Client

from tests.portal.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_it_sends_anonymous_visitors_to_the_login_page():
    answer = Client().get("/services/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/?next=/services/")


def test_it_logs_in_with_a_preset_user_and_lands_on_my_services(presets):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    answer = client.post("/login/", {"username": "user1", "password": DEMO_PASSWORD,
                                     "csrfmiddlewaretoken": csrf_from(page.text)})
    assert answer.status_code == 302
    assert answer["Location"] == "/services/"


def test_it_rejects_a_wrong_password_with_a_message(presets):
    client = Client()
    answer = client.post("/login/", {"username": "user1", "password": "wrong"})
    assert answer.status_code == 200
    assert "Please enter a correct username and password" in answer.text


def test_it_enforces_csrf_on_login(presets):
    answer = Client(enforce_csrf_checks=True).post("/login/", {"username": "user1", "password": DEMO_PASSWORD})
    assert answer.status_code == 403


def test_it_logs_out_with_post_only(login):
    client = login("user1")
    assert client.get("/logout/").status_code == 405
    page = client.get("/services/")
    answer = client.post("/logout/", {"csrfmiddlewaretoken": csrf_from(page.text)})
    assert answer.status_code == 302
    assert client.get("/services/").status_code == 302


def test_it_switches_the_language_to_simplified_chinese(login):
    client = login("user1")
    page = client.get("/services/")
    answer = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/services/",
                                            "csrfmiddlewaretoken": csrf_from(page.text)})
    assert answer.status_code == 302
    page = client.get("/services/")
    assert '<html lang="zh-hans">' in page.text
    assert "我的业务" in page.text
