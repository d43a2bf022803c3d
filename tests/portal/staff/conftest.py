"""Helpers for the staff pages' tests: a logged-in admin, CSRF-carrying POSTs, the preset secrets."""

import pytest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.crypto import get_random_string


def csrf_token(client) -> str:
    """Give the client a CSRF cookie (an unmasked secret, which Django accepts) and return it."""
    if "csrftoken" not in client.cookies:
        client.cookies["csrftoken"] = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
    return client.cookies["csrftoken"].value


def post(client, url: str, data=None, **extra):
    """POST with a valid CSRF token, as a browser that loaded the form would."""
    return client.post(url, data or {}, HTTP_X_CSRFTOKEN=csrf_token(client), **extra)


@pytest.fixture
def staff(login):
    return login("admin")


@pytest.fixture
def preset_secrets(simulator) -> list[str]:
    """Every token and bearer of the preset tenants: none may ever show up in a page, log or file."""
    return [value for tenant in simulator.tenants.values() for value in (tenant["token"], tenant["bearer"])]
