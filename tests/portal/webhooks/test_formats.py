"""Endpoint formats: the chat tools' messages (Slack, Teams, DingTalk, WeCom) in the endpoint's
language, DingTalk's signature, the robots' errcode answers, and the generic event left as it was.

A robot here is a real HTTP server on loopback that answers as DingTalk and WeCom do (HTTP 200 and
an errcode), checks DingTalk's signature the robot's way, and records what it was sent."""

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.core import crypto
from portal.webhooks import delivery, formats, services, signing
from portal.webhooks.models import (
    ALERT_EVENTS,
    EVENT_TYPES,
    OPERATION_EVENTS,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    all_events,
)
from tests.loopback_http import posts_answered

DINGTALK_SECRET = "SEC" + "3f" * 32
OK = b'{"errcode":0,"errmsg":"ok"}'
REFUSED = b'{"errcode":310000,"errmsg":"keywords not in content"}'
CHAT_FORMATS = ("slack", "teams", "dingtalk", "wecom")
# Where each tool's robot lives: the key is in the URL's own query, which must survive.
ROBOT_PATHS = {"slack": "/services/T000/B000/XXXX", "teams": "/workflows/abc/triggers/manual/paths/invoke?sig=s1",
               "dingtalk": "/robot/send?access_token=tok-1", "wecom": "/cgi-bin/webhook/send?key=key-1"}

OPERATION = {"id": 42, "kind": "modify", "state": "failed", "done": True, "service_id": "svc-1",
             "service_name": "Branch office", "before": {"bandwidth_kbps": 60000}, "after": {"bandwidth_kbps": 80000},
             "message": "IES refused the bandwidth", "requested_by": "alice", "created_at": "2026-01-01T00:00:00+00:00",
             "submitted_at": "2026-01-01T00:00:01+00:00", "finished_at": "2026-01-01T00:01:00+00:00"}
ALERT = {"id": 7, "rule": {"id": 3, "name": "Uplink busy", "kind": "utilisation"}, "level": "critical",
         "status": "firing", "service": {"id": "svc-1", "name": "Branch office"},
         "summary": "Inbound of Branch office above 90% for 5 min", "summary_zh": "Branch office 入向利用率 5 分钟高于 90%",
         "started_at": "2026-01-01T00:00:00+00:00", "ended_at": None, "url": "https://portal.example/alerts/7"}


def payload(event_type: str, data: dict, tenant: str = "acme") -> dict:
    return {"id": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "type": event_type,
            "created_at": "2026-01-01T00:00:00+00:00", "tenant": tenant, "data": data}


def outgoing(fmt: str, event_type: str, data: dict, *, language: str = "en", secret: str = "",
             now: float | None = None) -> formats.Outgoing:
    return formats.outgoing(format=fmt, language=language, secret=secret, event_type=event_type,
                            event_id="1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", payload=payload(event_type, data), now=now)


def message_text(fmt: str, body: dict) -> str:
    """Every text a person reads in a tool's message, in one string."""
    if fmt == "slack":
        return body["text"]
    if fmt == "teams":
        card = body["attachments"][0]["content"]
        actions = " ".join(action["title"] + " " + action["url"] for action in card.get("actions", []))
        return "\n".join(block["text"] for block in card["body"]) + "\n" + actions
    if fmt == "dingtalk":
        return body["markdown"]["title"] + "\n" + body["markdown"]["text"]
    return body["markdown"]["content"]


def assert_shape(fmt: str, body: dict) -> None:
    """The body each tool takes."""
    if fmt == "slack":
        assert set(body) == {"text"} and body["text"]
    elif fmt == "teams":
        assert body["type"] == "message"
        [attachment] = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        assert card["body"] and all(block["type"] == "TextBlock" for block in card["body"])
    elif fmt == "dingtalk":
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
        assert body["markdown"]["title"] and body["markdown"]["text"]
    else:
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"content"}
        assert len(body["markdown"]["content"].encode()) <= formats.WECOM_MAX_BYTES


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """The robot's side, as DingTalk documents it: base64 HMAC-SHA256 of "<timestamp>\\n<secret>"."""
    signed = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(signed).decode()


def dingtalk_verifies(secret: str, query: dict[str, str]) -> bool:
    if "timestamp" not in query or "sign" not in query:
        return False
    fresh = abs(time.time() * 1000 - int(query["timestamp"])) < 3600 * 1000
    return fresh and hmac.compare_digest(dingtalk_sign(secret, query["timestamp"]), query["sign"])


# -- a robot on loopback ------------------------------------------------------------------------


@dataclass
class Hit:
    path: str  # as requested, query included
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Robot:
    """Answers each POST with the next of `replies` (then HTTP 200 and errcode 0), and records it."""

    base: str = ""
    replies: list[tuple[int, bytes]] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, fmt: str) -> str:
        return self.base + ROBOT_PATHS[fmt]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        query = {key: values[0] for key, values in parse_qs(urlsplit(path).query).items()}
        with self.lock:
            self.hits.append(Hit(path, query, headers, body))
            return self.replies.pop(0) if self.replies else (200, OK)


@pytest.fixture
def robot():
    record = Robot()
    with posts_answered(record.answer) as base:
        record.base = base
        yield record


def make(tenant, url: str, fmt: str, **kwargs) -> WebhookEndpoint:
    user = get_user_model().objects.filter(memberships__tenant=tenant).first()
    endpoint, shown = services.webhook_create(tenant=tenant, user=user, url=url, format=fmt, **kwargs)
    assert shown == ""  # a chat format has no portal secret to show
    return endpoint


def send(tenant, event_type: str, data: dict) -> WebhookDelivery:
    """Emit the event and make its one delivery's first attempt now (no worker: on_commit is not run)."""
    [row] = services.webhook_event_emit(tenant=tenant, event_type=event_type, data=data)
    services.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    return row


# -- chat formats against the robot -------------------------------------------------------------


@pytest.mark.parametrize("fmt", CHAT_FORMATS)
def test_each_chat_format_delivers_ping_operation_and_alert_in_english(fmt, other_tenant, robot):
    secret = DINGTALK_SECRET if fmt == "dingtalk" else ""
    endpoint = make(other_tenant, robot.url(fmt), fmt, secret=secret)

    ping = services.webhook_ping(endpoint=endpoint)
    failed = send(other_tenant, "operation.failed", {"operation": OPERATION})
    firing = send(other_tenant, "alert.firing", {"alert": ALERT})
    assert [row.state for row in (ping, failed, firing)] == [DeliveryState.DELIVERED] * 3

    assert len(robot.hits) == 3
    for hit in robot.hits:
        assert_shape(fmt, hit.json)
        assert hit.headers["Content-Type"] == "application/json"
        assert "CloudVPN-Signature" not in hit.headers  # a chat tool has no use for the event's signature
        assert hit.path.startswith(ROBOT_PATHS[fmt])  # the robot's own key is still in the query
    ping_text, failed_text, firing_text = (message_text(fmt, hit.json) for hit in robot.hits)
    assert "Test message from CloudVPN Portal" in ping_text and other_tenant.name in ping_text
    assert f"Operation failed: change bandwidth of Branch office (tenant {other_tenant.name})" in failed_text
    assert "Change bandwidth" in failed_text and "60 Mbit/s → 80 Mbit/s" in failed_text
    assert "IES refused the bandwidth" in failed_text
    assert "[CRITICAL] Inbound of Branch office above 90% for 5 min" in firing_text
    assert "Uplink busy" in firing_text and "https://portal.example/alerts/7" in firing_text
    assert "入向" not in firing_text
    # "CloudVPN" in every message: the keyword of a DingTalk robot secured by one.
    assert all("CloudVPN" in text for text in (ping_text, failed_text, firing_text))


@pytest.mark.parametrize("fmt", CHAT_FORMATS)
def test_a_chinese_endpoint_is_written_to_in_chinese(fmt, other_tenant, robot):
    make(other_tenant, robot.url(fmt), fmt, language="zh-hans")
    send(other_tenant, "operation.failed", {"operation": OPERATION})
    send(other_tenant, "alert.firing", {"alert": ALERT})
    cleared = {**ALERT, "status": "cleared", "ended_at": "2026-01-01T00:20:00+00:00"}
    send(other_tenant, "alert.cleared", {"alert": cleared})
    failed_text, firing_text, cleared_text = (message_text(fmt, hit.json) for hit in robot.hits)
    assert f"操作失败：修改业务 Branch office 的带宽（租户 {other_tenant.name}）" in failed_text
    assert "业务：Branch office" in failed_text and "修改带宽" in failed_text
    assert "[严重] Branch office 入向利用率 5 分钟高于 90%" in firing_text  # the alert's own Chinese summary
    assert "Inbound of" not in firing_text
    assert "[已恢复]" in cleared_text and "结束时间：2026-01-01 08:20+08:00" in cleared_text
    assert all("CloudVPN 门户" in text for text in (failed_text, firing_text, cleared_text))


def test_dingtalks_signature_verifies_with_the_robots_secret(other_tenant, robot):
    endpoint = make(other_tenant, robot.url("dingtalk"), "dingtalk", secret=f"  {DINGTALK_SECRET} ")
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert DINGTALK_SECRET not in stored.secret_encrypted and stored.secret() == DINGTALK_SECRET

    send(other_tenant, "operation.failed", {"operation": OPERATION})
    [hit] = robot.hits
    assert hit.query["access_token"] == "tok-1"  # the URL's query kept, the signature added to it
    assert dingtalk_verifies(DINGTALK_SECRET, hit.query)
    assert not dingtalk_verifies("SEC" + "00" * 32, hit.query)
    # Sent URL-encoded (base64 has +, / and =), as DingTalk reads it.
    assert "&sign=" + quote_plus(hit.query["sign"]) in hit.path


def test_a_dingtalk_robot_without_a_secret_is_sent_no_signature(other_tenant, robot):
    endpoint = make(other_tenant, robot.url("dingtalk"), "dingtalk")
    assert endpoint.secret_encrypted == "" and endpoint.secret() == ""
    assert services.webhook_ping(endpoint=endpoint).state == DeliveryState.DELIVERED
    [hit] = robot.hits
    assert hit.query == {"access_token": "tok-1"}


@pytest.mark.parametrize("fmt", ["dingtalk", "wecom"])
def test_a_robots_errcode_is_a_failure_retried_until_it_is_zero(fmt, other_tenant, robot):
    robot.replies = [(200, REFUSED)]
    endpoint = make(other_tenant, robot.url(fmt), fmt)
    [row] = services.webhook_event_emit(tenant=other_tenant, event_type="alert.firing", data={"alert": ALERT})

    assert services.delivery_attempt(delivery_id=row.pk) == "retrying"
    row.refresh_from_db()
    assert row.state == DeliveryState.PENDING and row.attempts == 1 and row.last_status_code == 200
    assert "310000" in row.last_error and "keywords not in content" in row.last_error
    assert row.last_response_excerpt == REFUSED.decode()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None  # counted against the endpoint as any failure

    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())  # due now
    assert services.delivery_attempt(delivery_id=row.pk) == DeliveryState.DELIVERED
    row.refresh_from_db()
    assert row.state == DeliveryState.DELIVERED and row.attempts == 2 and row.last_error == ""
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert [hit.body for hit in robot.hits] == [robot.hits[0].body] * 2


def test_a_robots_refusal_of_the_test_ping_is_shown(other_tenant, robot):
    robot.replies = [(200, b'{"errcode":93000,"errmsg":"invalid webhook url"}')]
    endpoint = make(other_tenant, robot.url("wecom"), "wecom")
    ping = services.webhook_ping(endpoint=endpoint)
    assert ping.state == DeliveryState.GIVEN_UP and "invalid webhook url" in ping.last_error


def test_slacks_200_answer_is_not_read_for_an_errcode(other_tenant, robot):
    robot.replies = [(200, b"ok")]
    endpoint = make(other_tenant, robot.url("slack"), "slack")
    assert services.webhook_ping(endpoint=endpoint).state == DeliveryState.DELIVERED


# -- the generic format, unchanged --------------------------------------------------------------


def test_the_generic_event_is_unchanged_and_still_verifies(other_tenant, receiver):
    user = get_user_model().objects.filter(memberships__tenant=other_tenant).first()
    endpoint, receiver.secret = services.webhook_create(tenant=other_tenant, user=user, url=receiver.url)
    assert endpoint.format == "generic" and endpoint.language == "en" and receiver.secret.startswith("whsec_")

    row = send(other_tenant, "operation.failed", {"operation": OPERATION})
    assert row.state == DeliveryState.DELIVERED
    [request] = receiver.requests
    assert request.verified and signing.verify(receiver.secret, request.headers["CloudVPN-Signature"], request.body)
    assert request.path == "/hooks/cloudvpn?source=test"
    # Byte for byte the event as stored, compact JSON, UTF-8.
    assert request.body == json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert set(json.loads(request.body)) == {"id", "type", "created_at", "tenant", "data"}
    assert request.headers["CloudVPN-Event"] == "operation.failed"
    assert request.headers["CloudVPN-Delivery"] == str(row.event_id) == json.loads(request.body)["id"]


def test_a_generic_endpoint_ignores_a_secret_and_a_language_given(other_tenant, receiver):
    user = get_user_model().objects.filter(memberships__tenant=other_tenant).first()
    endpoint, shown = services.webhook_create(tenant=other_tenant, user=user, url=receiver.url,
                                              language="zh-hans", secret=DINGTALK_SECRET)
    assert shown.startswith("whsec_") and endpoint.secret() == shown
    receiver.secret = shown
    send(other_tenant, "alert.firing", {"alert": ALERT})
    [request] = receiver.requests
    assert request.verified and json.loads(request.body)["data"] == {"alert": ALERT}


# -- endpoints made with a format ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["slack", "teams", "wecom"])
def test_a_secret_given_to_a_keyed_url_format_is_not_kept(fmt, other_tenant, robot):
    endpoint = make(other_tenant, robot.url(fmt), fmt, secret=DINGTALK_SECRET)
    assert endpoint.secret_encrypted == "" and endpoint.secret() == ""


@pytest.mark.parametrize(("kwargs", "field_name"), [
    ({"format": "telegram"}, "format"),
    ({"format": "dingtalk", "language": "fr"}, "language"),
    ({"format": "dingtalk", "secret": "tok-1"}, "secret"),
    ({"format": "dingtalk", "secret": "SEC with spaces"}, "secret"),
])
def test_an_unknown_format_language_or_a_wrong_dingtalk_secret_is_refused(kwargs, field_name, other_tenant, robot):
    with pytest.raises(services.WebhookRefused) as refused:
        services.webhook_create(tenant=other_tenant, user=None, url=robot.url("dingtalk"), **kwargs)
    assert refused.value.field == field_name and refused.value.message
    assert not WebhookEndpoint.objects.exists()


def test_a_chat_url_must_still_be_https_when_guarded(other_tenant, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(services.WebhookRefused) as refused:
        services.webhook_create(tenant=other_tenant, user=None, format="dingtalk",
                                url="http://oapi.dingtalk.com/robot/send?access_token=x")
    assert refused.value.field == "url"


def test_the_alert_events_are_known_and_subscribed_to_by_default():
    assert ALERT_EVENTS == ("alert.firing", "alert.cleared")
    assert EVENT_TYPES == OPERATION_EVENTS + ALERT_EVENTS
    assert {"alert.firing", "alert.cleared"} <= set(all_events())


def test_the_api_makes_a_dingtalk_robot_and_never_echoes_its_secret(other_tenant, robot, api_for):
    api = api_for(get_user_model().objects.get(username="other1"), other_tenant)
    made = api.post("/api/v1/webhooks", {"url": robot.url("dingtalk"), "format": "dingtalk", "language": "zh-hans",
                                         "secret": DINGTALK_SECRET, "events": ["alert.firing", "alert.cleared"]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["format"] == "dingtalk" and body["language"] == "zh-hans" and body["secret"] is None
    assert body["events"] == ["alert.firing", "alert.cleared"]
    assert DINGTALK_SECRET not in made.text
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert crypto.decrypt(stored.secret_encrypted) == DINGTALK_SECRET
    shown = api.get(f"/api/v1/webhooks/{body['id']}")
    assert shown.json()["format"] == "dingtalk" and DINGTALK_SECRET not in shown.text

    ping = api.post(f"/api/v1/webhooks/{body['id']}/test")
    assert ping.status_code == 200 and ping.json()["state"] == "delivered", ping.content
    [hit] = robot.hits
    assert dingtalk_verifies(DINGTALK_SECRET, hit.query) and "CloudVPN 门户" in hit.json["markdown"]["text"]


def test_the_api_defaults_to_generic_and_refuses_an_unknown_format(other_tenant, receiver, api_for):
    api = api_for(get_user_model().objects.get(username="other1"), other_tenant)
    made = api.post("/api/v1/webhooks", {"url": receiver.url})
    assert made.status_code == 201
    assert made.json()["format"] == "generic" and made.json()["language"] == "en"
    assert made.json()["secret"].startswith("whsec_")
    for sent, field_name in (({"format": "irc"}, "format"), ({"language": "de"}, "language")):
        refused = api.post("/api/v1/webhooks", {"url": receiver.url, **sent})
        assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == field_name


# -- formats on their own -----------------------------------------------------------------------


def test_generic_is_the_signed_event_as_before():
    event = payload("operation.failed", {"operation": OPERATION}, tenant="租户甲")
    out = formats.outgoing(format="generic", language="zh-hans", secret="whsec_test", event_type="operation.failed",
                           event_id=event["id"], payload=event, now=1767225600)
    assert out.body == json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    assert out.query == "" and list(out.headers) == ["CloudVPN-Signature", "CloudVPN-Event", "CloudVPN-Delivery"]
    assert out.headers["CloudVPN-Signature"] == signing.sign("whsec_test", out.body, 1767225600)
    assert signing.verify("whsec_test", out.headers["CloudVPN-Signature"], out.body, now=1767225600)
    assert out.headers["CloudVPN-Event"] == "operation.failed" and out.headers["CloudVPN-Delivery"] == event["id"]


@pytest.mark.parametrize("fmt", CHAT_FORMATS)
@pytest.mark.parametrize("event_type", ["ping", "operation.succeeded", "operation.stuck", "alert.firing",
                                        "alert.cleared", "policy.applied"])
def test_every_chat_format_has_a_message_for_every_event(fmt, event_type):
    data = {"operation": {**OPERATION, "state": event_type.split(".")[-1]}} if event_type.startswith("operation.") \
        else {"alert": ALERT} if event_type.startswith("alert.") else {}
    out = outgoing(fmt, event_type, data)
    body = json.loads(out.body)
    assert_shape(fmt, body)
    assert out.query == "" and "CloudVPN-Signature" not in out.headers
    text = message_text(fmt, body)
    expected = {"ping": "Test message from CloudVPN Portal",
                "operation.succeeded": "Operation succeeded: change bandwidth of Branch office (tenant acme)",
                "operation.stuck": "Operation stuck: change bandwidth of Branch office (tenant acme)",
                "alert.firing": "[CRITICAL] Inbound of Branch office",
                "alert.cleared": "[CLEARED] Inbound of Branch office",
                "policy.applied": "CloudVPN Portal event: policy.applied"}[event_type]
    assert expected in text


@pytest.mark.parametrize("fmt", CHAT_FORMATS)
def test_a_malformed_or_empty_event_still_makes_a_message(fmt):
    for data in ({}, {"operation": None}, {"alert": "nonsense"}, {"operation": {"kind": "resize", "after": {
            "bandwidth_kbps": "lots"}}}):
        for event_type in ("operation.failed", "alert.firing"):
            assert_shape(fmt, json.loads(outgoing(fmt, event_type, data).body))
    out = formats.outgoing(format=fmt, language="en", secret="", event_type="operation.failed", event_id="x",
                           payload={"lost": True})
    assert_shape(fmt, json.loads(out.body))


def test_alert_levels_and_language():
    def title(alert: dict, language: str = "en", event_type: str = "alert.firing") -> str:
        return json.loads(outgoing("dingtalk", event_type, {"alert": alert}, language=language).body)["markdown"]["title"]

    assert title({**ALERT, "level": "warning"}).startswith("[WARNING] Inbound")
    assert title({**ALERT, "level": "warning"}, "zh-hans").startswith("[警告] Branch office 入向")
    assert title({**ALERT, "level": None}).startswith("[ALERT] ")
    assert title({**ALERT, "level": "info"}, "zh-hans").startswith("[信息] ")
    assert title({**ALERT, "status": "cleared"}, "zh-hans").startswith("[已恢复] ")
    assert title(ALERT, "zh-hans", "alert.cleared").startswith("[已恢复] ")
    # No Chinese summary: the English one rather than nothing.
    assert title({**ALERT, "summary_zh": ""}, "zh-hans") == "[严重] Inbound of Branch office above 90% for 5 min"
    assert len(title({**ALERT, "summary": "x" * 5000})) < 600


def test_slack_text_is_escaped_and_teams_links_to_the_alert():
    alert = {**ALERT, "service": {"id": "svc-1", "name": "R&D <lab>"}}
    text = json.loads(outgoing("slack", "alert.firing", {"alert": alert}).body)["text"]
    assert "R&amp;D &lt;lab&gt;" in text and "<https://portal.example/alerts/7|Open in the portal>" in text
    card = json.loads(outgoing("teams", "alert.firing", {"alert": ALERT}).body)["attachments"][0]["content"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in the portal",
                                "url": "https://portal.example/alerts/7"}]
    no_link = json.loads(outgoing("teams", "alert.firing", {"alert": {**ALERT, "url": None}}).body)
    assert "actions" not in no_link["attachments"][0]["content"]


def test_dingtalk_signs_only_with_a_secret():
    signed = outgoing("dingtalk", "ping", {}, secret=DINGTALK_SECRET, now=1767225600.123)
    query = {key: values[0] for key, values in parse_qs(signed.query).items()}
    assert query["timestamp"] == "1767225600123"
    assert query["sign"] == dingtalk_sign(DINGTALK_SECRET, "1767225600123")
    assert signed.query == f"timestamp=1767225600123&sign={quote_plus(query['sign'])}"
    assert outgoing("dingtalk", "ping", {}).query == ""
    for fmt in ("slack", "teams", "wecom"):
        assert outgoing(fmt, "ping", {}, secret=DINGTALK_SECRET).query == ""


def test_wecom_markdown_fits_the_robots_limit():
    long_alert = {**ALERT, "rule": {"id": 1, "name": "规" * 3000, "kind": "x"}}
    content = json.loads(outgoing("wecom", "alert.firing", {"alert": long_alert}).body)["markdown"]["content"]
    assert len(content.encode()) <= formats.WECOM_MAX_BYTES


@pytest.mark.parametrize(("fmt", "answer", "refused"), [
    ("dingtalk", '{"errcode":0,"errmsg":"ok"}', ""),
    ("wecom", '{"errcode":0,"errmsg":"ok"}', ""),
    ("dingtalk", '{"errcode":310000,"errmsg":"sign not match"}', "sign not match"),
    ("wecom", '{"errcode":93000,"errmsg":"invalid webhook url"}', "invalid webhook url"),
    ("wecom", '{"errcode":false}', "errcode"),
    ("dingtalk", "<html>proxy</html>", "errcode"),
    ("dingtalk", "", "errcode"),
    ("slack", "invalid_payload", ""),
    ("teams", "", ""),
    ("generic", '{"errcode":1}', ""),
])
def test_answer_refused(fmt, answer, refused):
    why = formats.answer_refused(fmt, answer)
    assert (refused in why and why != "") if refused else why == ""


@pytest.mark.parametrize(("path", "query", "sent"), [
    ("/hook", "", "/hook"),
    ("/hook", "a=1", "/hook?a=1"),
    ("/robot/send?access_token=t", "timestamp=1&sign=s", "/robot/send?access_token=t&timestamp=1&sign=s"),
    ("/x?", "a=1", "/x?a=1"),
    ("/x?k=1&", "a=1", "/x?k=1&a=1"),
])
def test_the_query_is_added_to_the_urls_own(path, query, sent):
    assert delivery.with_query(path, query) == sent
