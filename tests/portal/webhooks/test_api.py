"""Managing webhooks through the API: the secret once, scopes, and one tenant never reaching another's."""

import json

from django.contrib.auth import get_user_model

from portal.audit.models import AuditEvent
from portal.core import crypto
from portal.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint


def user(name):
    return get_user_model().objects.get(username=name)


def test_create_list_get_test_and_delete(other_tenant, receiver, api_for):
    api = api_for(user("other1"), other_tenant)
    made = api.post("/api/v1/webhooks", {"url": receiver.url, "description": "ops bot",
                                         "events": ["operation.failed", "operation.succeeded"]})
    assert made.status_code == 201, made.content
    body = made.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["events"] == ["operation.failed", "operation.succeeded"]
    assert made["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert secret not in stored.secret_encrypted and crypto.decrypt(stored.secret_encrypted) == secret

    listed = api.get("/api/v1/webhooks")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    assert secret not in listed.text and "secret" not in listed.json()["items"][0]
    one = api.get(f"/api/v1/webhooks/{body['id']}")
    assert one.status_code == 200 and secret not in one.text and one.json()["description"] == "ops bot"

    receiver.secret = secret
    ping = api.post(f"/api/v1/webhooks/{body['id']}/test")
    assert ping.status_code == 200, ping.content
    assert ping.json()["state"] == "delivered" and ping.json()["status_code"] == 200
    [request] = receiver.requests
    assert request.verified and request.headers["CloudVPN-Event"] == "ping"
    assert request.headers["User-Agent"] == "CloudVPN-Portal-Webhooks/1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.path == "/hooks/cloudvpn?source=test"
    sent = json.loads(request.body)
    assert sent["type"] == "ping" and sent["tenant"] == other_tenant.name and sent["id"] == ping.json()["event_id"]

    deliveries = api.get(f"/api/v1/webhooks/{body['id']}/deliveries")
    assert deliveries.status_code == 200
    [row] = deliveries.json()["items"]
    assert row["event_type"] == "ping" and row["attempts"] == 1 and row["latency_ms"] is not None
    assert row["response_excerpt"] == '{"received": true}'

    gone = api.delete(f"/api/v1/webhooks/{body['id']}")
    assert gone.status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    actions = set(AuditEvent.objects.filter(tenant=other_tenant).values_list("action", flat=True))
    assert {"webhook.create", "webhook.delete"} <= actions
    assert secret not in json.dumps(list(AuditEvent.objects.values("before", "after", "message")))


def test_events_default_to_all_and_unknown_ones_are_refused(other_tenant, receiver, api_for):
    api = api_for(user("other1"), other_tenant)
    made = api.post("/api/v1/webhooks", {"url": receiver.url})
    assert made.status_code == 201 and made.json()["events"] == list(EVENT_TYPES)
    refused = api.post("/api/v1/webhooks", {"url": receiver.url, "events": ["operation.exploded"]})
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "events"
    no_url = api.post("/api/v1/webhooks", {"description": "no url"})
    assert no_url.status_code == 422 and no_url.json()["errors"][0]["field"] == "url"


def test_an_inward_url_is_a_422_when_guarded(other_tenant, api_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    api = api_for(user("other1"), other_tenant)
    for url in ("https://169.254.169.254/latest", "http://example.com/hook"):
        refused = api.post("/api/v1/webhooks", {"url": url})
        assert refused.status_code == 422, refused.content
        assert refused.json()["errors"][0]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


def test_a_read_token_lists_but_cannot_change(other_tenant, receiver, api_for):
    writer = api_for(user("other1"), other_tenant)
    made = writer.post("/api/v1/webhooks", {"url": receiver.url}).json()
    reader = api_for(user("other1"), other_tenant, scopes=["read"])
    assert reader.get("/api/v1/webhooks").status_code == 200
    assert reader.post("/api/v1/webhooks", {"url": receiver.url}).status_code == 403
    assert reader.delete(f"/api/v1/webhooks/{made['id']}").status_code == 403
    assert reader.post(f"/api/v1/webhooks/{made['id']}/test").status_code == 403
    assert receiver.requests == []


def test_another_tenants_webhook_is_not_found(own_tenant, other_tenant, receiver, api_for):
    theirs = api_for(user("own1"), own_tenant.tenant).post("/api/v1/webhooks", {"url": receiver.url}).json()
    mine = api_for(user("other1"), other_tenant)
    for answer in (mine.get(f"/api/v1/webhooks/{theirs['id']}"),
                   mine.get(f"/api/v1/webhooks/{theirs['id']}/deliveries"),
                   mine.post(f"/api/v1/webhooks/{theirs['id']}/test"),
                   mine.delete(f"/api/v1/webhooks/{theirs['id']}")):
        assert answer.status_code == 404, answer.content
        assert answer["Content-Type"] == "application/problem+json"
    assert mine.get("/api/v1/webhooks").json()["items"] == []
    assert WebhookEndpoint.objects.filter(pk=theirs["id"]).exists()
    assert receiver.requests == []


def test_the_openapi_document_declares_the_webhooks(db):
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert {"/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}", "/api/v1/webhooks/{webhook_id}/deliveries",
            "/api/v1/webhooks/{webhook_id}/test"} <= set(paths)
    created = paths["/api/v1/webhooks"]["post"]["responses"]
    assert "201" in created and "application/problem+json" in created["404"]["content"]
    assert "204" in paths["/api/v1/webhooks/{webhook_id}"]["delete"]["responses"]
