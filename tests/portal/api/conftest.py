"""API tests: tokens made through the portal's own service, requests through Django's test client."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.api.services import token_create
from portal.tenants.models import Membership


class ApiClient:
    """A test client that sends a bearer token (and JSON bodies) on every request."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.client = Client()

    def _headers(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.secret}", **(headers or {})}

    def get(self, path: str, headers: dict | None = None, **params):
        return self.client.get(path, params, headers=self._headers(headers))

    def post(self, path: str, body=None, headers: dict | None = None):
        return self.client.post(path, body or {}, content_type="application/json", headers=self._headers(headers))

    def patch(self, path: str, body=None, headers: dict | None = None):
        return self.client.patch(path, body or {}, content_type="application/json", headers=self._headers(headers))

    def delete(self, path: str, headers: dict | None = None):
        return self.client.delete(path, headers=self._headers(headers))


def make_token(user, tenant, scopes=("read", "order", "modify", "delete"), *, expires_in=timedelta(days=30), name="ci"):
    membership = Membership.objects.select_related("user", "tenant").get(user=user, tenant=tenant)
    token, secret = token_create(membership=membership, name=name, scopes=list(scopes),
                                 expires_at=timezone.now() + expires_in)
    return token, secret


@pytest.fixture
def api_for():
    """api_for(user, tenant, scopes=…) → an ApiClient with a fresh token of that user for that tenant."""

    def _make(user, tenant, scopes=("read", "order", "modify", "delete"), **kwargs) -> ApiClient:
        _token, secret = make_token(user, tenant, scopes, **kwargs)
        return ApiClient(secret)

    return _make
