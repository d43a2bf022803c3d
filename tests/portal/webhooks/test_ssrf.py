"""The guard: with private addresses refused (production), nothing is sent inward, neither at
creation nor at delivery. Only the refusal is tested: no traffic ever goes to a non-loopback address."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.webhooks import delivery, services, ssrf
from portal.webhooks.models import WebhookDelivery

INWARD = ["https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
          "https://[::1]/hook", "https://0.0.0.0/hook", "https://100.64.0.1/hook", "https://[::ffff:10.0.0.1]/hook",
          "https://224.0.0.1/hook", "https://localhost/hook"]


@pytest.fixture
def guard_on(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    def no_sending(*args, **kwargs):
        raise AssertionError("a refused address must be refused before any connection")

    monkeypatch.setattr(delivery, "post", no_sending)


@pytest.mark.parametrize("url", INWARD)
def test_inward_addresses_are_refused(guard_on, url):
    with pytest.raises(ssrf.UnsafeUrl, match="private or reserved"):
        ssrf.resolve(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://example.com/hook", "ftp://example.com/",
                                 "file:///etc/passwd", "https://user:pass@example.com/"])
def test_only_https_without_credentials_when_guarded(guard_on, url):
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.parse(url)


def test_http_to_loopback_is_allowed_in_local_runs(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    target = ssrf.resolve("http://127.0.0.1:8080/a/b?c=d#frag")
    assert (target.scheme, target.address, target.port, target.path) == ("http", "127.0.0.1", 8080, "/a/b?c=d")
    assert target.host_header == "127.0.0.1:8080"
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.parse("gopher://127.0.0.1/")


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/"])
def test_creation_is_refused(guard_on, other_tenant, url):
    user = get_user_model().objects.get(username="other1")
    with pytest.raises(services.WebhookRefused) as refused:
        services.webhook_create(tenant=other_tenant, user=user, url=url)
    assert refused.value.field == "url"


def test_an_endpoint_that_became_inward_is_refused_at_delivery(other_tenant, receiver, settings, monkeypatch):
    """Made while allowed (or its name resolved outward then): checked again before each attempt."""
    user = get_user_model().objects.get(username="other1")
    endpoint, _secret = services.webhook_create(tenant=other_tenant, user=user, url=receiver.url)
    row = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                         next_attempt_at=timezone.now())
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(delivery, "post", lambda *a, **k: pytest.fail("sent to a refused address"))
    assert services.delivery_attempt(delivery_id=row.pk) == "retrying"
    row.refresh_from_db()
    assert row.last_status_code is None and "https" in row.last_error
    assert receiver.requests == []


def test_an_inward_address_is_refused_at_delivery(other_tenant, settings, monkeypatch):
    user = get_user_model().objects.get(username="other1")
    endpoint, _secret = services.webhook_create(tenant=other_tenant, user=user, url="https://10.0.0.1/hook")
    row = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                         next_attempt_at=timezone.now())
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(delivery, "post", lambda *a, **k: pytest.fail("sent to a refused address"))
    services.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert "private or reserved" in row.last_error
