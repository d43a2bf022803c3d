"""Webhook tests: a real HTTP receiver on loopback that records what it was sent and checks its signature."""

import threading
import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model

from portal.tenants.models import Membership, Tenant
from portal.webhooks import signing
from tests.loopback_http import posts_answered
from tests.portal.api.conftest import api_for  # noqa: F401 - the API tests' token client, shared


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """Answers each POST with the next status of `statuses` (then 200), and records it."""

    url: str = ""
    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            verified = bool(self.secret) and signing.verify(self.secret, headers.get("CloudVPN-Signature", ""), body)
            self.requests.append(Received(path, headers, body, verified))
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver():
    record = Receiver()

    def answer(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        status = record.answer(path, headers, body)
        return status, b'{"received": true}' if status < 300 else b"receiver says no"

    with posts_answered(answer) as base:
        record.url = f"{base}/hooks/cloudvpn?source=test"
        yield record


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings):
    """The receiver is on loopback: allowed here, as in local runs; the guard's tests turn it on."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05


@pytest.fixture
def other_tenant(db):
    """A second tenant with a member ("other1"), no IES needed."""
    tenant = Tenant.objects.create(name=f"other_{uuid.uuid4().hex[:10]}")
    user = get_user_model().objects.create_user("other1", password="x-unused-password")
    Membership.objects.create(user=user, tenant=tenant)
    return tenant
