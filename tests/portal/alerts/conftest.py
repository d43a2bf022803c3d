"""Alert tests: a real SMTP server (aiosmtpd) and the webhooks' real HTTP receiver, the tenant's
traffic driven through the simulator's load rules."""

import email
import threading
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures_simulator import free_port
from tests.portal.webhooks.conftest import receiver  # noqa: F401 - the webhooks' real receiver, shared


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            message = email.message_from_bytes(envelope.content)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in m["X-Envelope-To"]]


@pytest.fixture
def smtp(settings):
    """An SMTP server on loopback; the portal's mail goes to it (Django's SMTP backend, for real)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": port}}}
    yield box
    controller.stop()


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.PORTAL_URL = "https://portal.example.test"


def body_text(message: Message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""
