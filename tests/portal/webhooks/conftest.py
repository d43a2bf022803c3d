"""Webhook tests: a real HTTP receiver on loopback that records what it was sent and checks its signature."""

import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model

from portal.tenants.models import Membership, Tenant
from portal.webhooks import signing
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

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = record.answer(self.path, dict(self.headers.items()), body)
            reply = b'{"received": true}' if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cloudvpn?source=test"
    yield record
    server.shutdown()
    server.server_close()


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
