"""The channel pages: members add a webhook (its secret shown once) or a chat robot (its address
masked), send it a test that really arrives, and delete it; viewers read; another tenant's are out
of reach."""

import json
import uuid

from django.contrib.auth import get_user_model

from portal.tenants.models import Membership, Role, Tenant
from portal.webhooks import services as webhooks
from portal.webhooks.models import WebhookEndpoint


def post(client, url, data):
    client.get("/alerts/channels/")
    return client.post(url, data, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def test_a_generic_webhook_shows_its_secret_once_and_a_test_arrives_signed(own_tenant, receiver):
    client = own_tenant.login("own1")
    answer = post(client, "/alerts/channels/", {"format": "generic", "url": receiver.url, "language": "en",
                                                "events": ["alert.firing", "alert.cleared"], "description": "NOC"})
    assert answer.status_code == 201 and "no-store" in answer["Cache-Control"]
    secret = answer.text.split('data-testid="secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret() == secret and endpoint.events == ["alert.firing", "alert.cleared"]
    page = client.get("/alerts/channels/")
    assert secret not in page.text and "NOC" in page.text
    receiver.secret = secret
    tested = post(client, f"/alerts/channels/{endpoint.pk}/test/", {})
    assert tested.status_code == 302
    [hook] = receiver.requests
    assert hook.verified and hook.headers["CloudVPN-Event"] == "ping"
    page = client.get("/alerts/channels/")
    assert "The test arrived: HTTP 200" in page.text and 'data-state="delivered"' in page.text


def test_a_chat_robot_is_masked_and_a_refused_test_says_why(own_tenant, receiver):
    client = own_tenant.login("own1")
    url = receiver.url + "&key=robot-key-123"
    answer = post(client, "/alerts/channels/", {"format": "wecom", "url": url, "language": "zh-hans",
                                                "events": ["alert.firing"]})
    assert answer.status_code == 302
    page = client.get("/alerts/channels/")
    assert "robot-key-123" not in page.text and "/…" in page.text
    endpoint = WebhookEndpoint.objects.get()
    post(client, f"/alerts/channels/{endpoint.pk}/test/", {})  # the receiver answers no errcode: refused
    page = client.get("/alerts/channels/")
    assert "The test did not arrive" in page.text
    body = json.loads(receiver.requests[0].body)
    assert body["msgtype"] == "markdown" and "CloudVPN" in body["markdown"]["content"]


def test_bad_channels_are_refused_with_words_and_what_was_typed_stays(own_tenant, settings):
    client = own_tenant.login("own1")
    answer = post(client, "/alerts/channels/", {"format": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send",
                                                "language": "en", "secret": "not-a-secret", "events": ["alert.firing"]})
    assert answer.status_code == 400 and 'value="https://oapi.dingtalk.com/robot/send"' in answer.text
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    answer = post(client, "/alerts/channels/", {"format": "slack", "url": "http://127.0.0.1:9/hook", "language": "en",
                                                "events": ["alert.firing"]})
    assert answer.status_code == 400 and 'class="error"' in answer.text
    assert not WebhookEndpoint.objects.exists()


def test_viewers_read_and_strangers_cannot_reach(own_tenant, receiver):
    own1 = get_user_model().objects.get(username="own1")
    mine, _ = webhooks.webhook_create(tenant=own_tenant.tenant, user=own1, url=receiver.url, events=["alert.firing"])
    other = Tenant.objects.create(name=f"other_{uuid.uuid4().hex[:8]}")
    theirs, _ = webhooks.webhook_create(tenant=other, user=None, url=receiver.url + "&theirs=1",
                                        events=["alert.firing"])
    Membership.objects.filter(user__username="own2").update(role=Role.VIEWER)
    viewer = own_tenant.login("own2")
    page = viewer.get("/alerts/channels/")
    assert page.status_code == 200 and 'data-testid="channel"' in page.text and "Add a channel" not in page.text
    assert post(viewer, f"/alerts/channels/{mine.pk}/delete/", {}).status_code == 403
    assert post(viewer, "/alerts/channels/", {"format": "slack", "url": receiver.url, "language": "en",
                                              "events": ["alert.firing"]}).status_code == 403
    member = own_tenant.login("own1")
    assert "theirs=1" not in member.get("/alerts/channels/").text
    assert post(member, f"/alerts/channels/{theirs.pk}/delete/", {}).status_code == 404
    assert post(member, f"/alerts/channels/{theirs.pk}/test/", {}).status_code == 404
    assert post(member, f"/alerts/channels/{mine.pk}/delete/", {}).status_code == 302
    assert list(WebhookEndpoint.objects.all()) == [theirs] and receiver.requests == []
