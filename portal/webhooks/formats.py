"""What an endpoint is sent for an event: the signed JSON event (generic), or a short message in a
chat tool's own shape (Slack, Microsoft Teams, DingTalk, WeCom), written in the endpoint's language.

`outgoing` gives the body, the headers and the query string a delivery adds to the endpoint's URL
(DingTalk's signature travels there); `answer_refused` reads a robot's answer, since DingTalk and
WeCom refuse a message with an HTTP 200. Nothing here reads the database: the delivery's row gives
the event, its endpoint the rest.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from portal.core.units import format_kbps
from portal.operations.models import OperationKind, OperationState
from portal.webhooks import signing
from portal.webhooks.models import ALERT_EVENTS, PING, WebhookFormat, WebhookLanguage

# The robots that answer every request with HTTP 200 and say in its JSON whether they took it.
ERRCODE_FORMATS = (WebhookFormat.DINGTALK, WebhookFormat.WECOM)
# A free text (an operation's message, an alert's summary) is cut here: the robots cap a message's
# size (WeCom at 4096 bytes of markdown), and a chat line is read at a glance.
TEXT_CHARS = 500
WECOM_MAX_BYTES = 4096


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    headers: dict[str, str]
    query: str = ""  # added to the URL's own query (DingTalk's timestamp and sign), already encoded


@dataclass(frozen=True)
class Message:
    """What every chat format says of an event, already in the endpoint's language."""

    title: str
    lines: tuple[str, ...]
    link: str = ""
    tone: str = ""  # "good", "warning" or "attention": the colour a tool that has colours gives the title


def outgoing(*, format: str, language: str, secret: str, event_type: str, event_id: str,
             payload: dict[str, Any], now: float | None = None) -> Outgoing:
    """The request for one attempt. ``payload`` is the event as the generic body carries it
    ({"id", "type", "created_at", "tenant", "data"}); ``now`` (Unix seconds) fixes the signatures' time."""
    headers = {"CloudVPN-Event": event_type, "CloudVPN-Delivery": event_id}
    shape = CHAT_SHAPES.get(format)
    if shape is None:  # generic (and a format this code does not know: the event, as before formats)
        body = _json(payload)
        when = None if now is None else int(now)
        return Outgoing(body=body, headers={signing.HEADER: signing.sign(secret, body, when), **headers})
    with override(language):
        message = shape(describe(event_type, payload, language))
    query = dingtalk_query(secret, now) if format == WebhookFormat.DINGTALK and secret else ""
    return Outgoing(body=_json(message), headers=headers, query=query)


def answer_refused(format: str, answer: str) -> str:
    """Why a robot refused a message it answered with a 2xx ("" when it took it). DingTalk and WeCom
    answer {"errcode": 0, "errmsg": "ok"}; any other errcode, or no errcode at all, is a failure."""
    if format not in ERRCODE_FORMATS:
        return ""
    try:
        reply = json.loads(answer)
    except ValueError:
        reply = None
    code = reply.get("errcode") if isinstance(reply, dict) else None
    if code == 0 and not isinstance(code, bool):
        return ""
    if code is None:
        return _("The answer has no errcode: the URL may not be a %(tool)s robot's.") % {
            "tool": WebhookFormat(format).label}
    return _("The robot refused the message: errcode %(code)s, %(message)s") % {
        "code": code, "message": str(reply.get("errmsg") or "") if isinstance(reply, dict) else ""}


# -- DingTalk's signature -----------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` before URL encoding: base64 of HMAC-SHA256 keyed with the robot's secret
    over "<timestamp>\\n<secret>"."""
    signed = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def dingtalk_query(secret: str, now: float | None = None) -> str:
    """``timestamp=<ms>&sign=<urlencoded sign>``; DingTalk refuses a timestamp an hour off its clock."""
    timestamp = int((time.time() if now is None else now) * 1000)
    return urlencode({"timestamp": timestamp, "sign": dingtalk_sign(secret, timestamp)})


# -- what an event says -------------------------------------------------------------------------


def describe(event_type: str, payload: dict[str, Any], language: str) -> Message:
    """The event as a person reads it, in the active language (the caller overrides it). Every key
    is optional: a row written by an older version, or by a test, still makes a message."""
    data = _mapping(payload.get("data"))
    tenant = _text(payload.get("tenant"))
    if event_type == PING:
        return Message(title=_("Test message from CloudVPN Portal"),
                       lines=(_("This webhook works: events of tenant %(tenant)s will arrive here.")
                              % {"tenant": tenant},))
    if event_type.startswith("operation."):
        return _operation(_mapping(data.get("operation")), tenant)
    if event_type in ALERT_EVENTS:
        chinese = language == WebhookLanguage.ZH_HANS
        return _alert(_mapping(data.get("alert")), tenant, ended=event_type == "alert.cleared", chinese=chinese)
    return Message(title=_("CloudVPN Portal event: %(type)s") % {"type": event_type},
                   lines=(_("Tenant: %(tenant)s") % {"tenant": tenant},))


def _operation(op: dict[str, Any], tenant: str) -> Message:
    state, kind = _text(op.get("state")), _text(op.get("kind"))
    service = _text(op.get("service_name")) or _text(op.get("service_id")) or _("an unnamed service")
    what = _operation_what(kind, service)
    lines = [_("State: %(state)s") % {"state": _label(OperationState, state)},
             _("Kind: %(kind)s") % {"kind": _label(OperationKind, kind)},
             _("Service: %(service)s") % {"service": service}]
    bandwidth = _bandwidth_change(op)
    if bandwidth:
        lines.append(bandwidth)
    if op.get("message"):
        lines.append(_("Details: %(message)s") % {"message": _clip(_text(op["message"]))})
    if op.get("requested_by"):
        lines.append(_("Requested by: %(user)s") % {"user": _text(op["requested_by"])})
    tones: dict[str, str] = {OperationState.SUCCEEDED: "good", OperationState.STUCK: "warning",
                             OperationState.NEEDS_ATTENTION: "warning"}
    return Message(title=_operation_title(state, what, tenant), lines=tuple(lines), link=_text(op.get("url")),
                   tone=tones.get(state, "attention"))


def _operation_what(kind: str, service: str) -> str:
    phrases: dict[str, str] = {OperationKind.CREATE: _("create %(service)s"),
               OperationKind.MODIFY: _("change bandwidth of %(service)s"),
               OperationKind.DELETE: _("delete %(service)s")}
    phrase = phrases.get(kind)
    if phrase is None:
        return _("%(kind)s of %(service)s") % {"kind": kind, "service": service}
    return phrase % {"service": service}


def _operation_title(state: str, what: str, tenant: str) -> str:
    titles: dict[str, str] = {OperationState.SUCCEEDED: _("Operation succeeded: %(what)s (tenant %(tenant)s)"),
              OperationState.FAILED: _("Operation failed: %(what)s (tenant %(tenant)s)"),
              OperationState.ROLLED_BACK: _("Operation rolled back: %(what)s (tenant %(tenant)s)"),
              OperationState.STUCK: _("Operation stuck: %(what)s (tenant %(tenant)s)"),
              OperationState.NEEDS_ATTENTION: _("Operation needs attention: %(what)s (tenant %(tenant)s)")}
    title = titles.get(state) or _("Operation %(state)s: %(what)s (tenant %(tenant)s)")
    return title % {"state": state, "what": what, "tenant": tenant}


def _bandwidth_change(op: dict[str, Any]) -> str:
    before = _mapping(op.get("before")).get("bandwidth_kbps")
    after = _mapping(op.get("after")).get("bandwidth_kbps")
    if after is None:
        return ""
    try:
        return _("Bandwidth: %(before)s → %(after)s") % {"before": format_kbps(before), "after": format_kbps(after)}
    except (TypeError, ValueError):  # not a number: the line is left out rather than the message
        return ""


def _alert(alert: dict[str, Any], tenant: str, *, ended: bool, chinese: bool) -> Message:
    rule = _mapping(alert.get("rule"))
    level = alert.get("level")
    if ended or alert.get("status") == "cleared":
        marker, tone, ended = _("[CLEARED]"), "good", True
    elif level == "critical":
        marker, tone = _("[CRITICAL]"), "attention"
    elif level == "warning":
        marker, tone = _("[WARNING]"), "warning"
    elif level == "info":
        marker, tone = _("[INFO]"), ""
    else:
        marker, tone = _("[ALERT]"), "warning"
    # The alerts app writes its summary in both languages: the one of the endpoint is sent.
    summary = _text(alert.get("summary_zh") if chinese else None) or _text(alert.get("summary"))
    summary = _clip(summary or _text(rule.get("name")) or _("Alert"))
    lines = []
    if rule.get("name"):
        lines.append(_("Rule: %(rule)s") % {"rule": _text(rule["name"])})
    service = _mapping(alert.get("service"))
    if service:
        lines.append(_("Service: %(service)s") % {"service": _text(service.get("name")) or _text(service.get("id"))})
    lines.append(_("Tenant: %(tenant)s") % {"tenant": tenant})
    if alert.get("started_at"):
        lines.append(_("Started: %(time)s") % {"time": _when(alert["started_at"])})
    if ended and alert.get("ended_at"):
        lines.append(_("Ended: %(time)s") % {"time": _when(alert["ended_at"])})
    return Message(title=f"{marker} {summary}", lines=tuple(lines), link=_text(alert.get("url")), tone=tone)


# -- each tool's shape --------------------------------------------------------------------------


def _slack(message: Message) -> dict[str, Any]:
    """An incoming webhook's message: one mrkdwn text (a link is <url|text>)."""
    lines = [f"*{_slack_escape(message.title)}*", *(_slack_escape(line) for line in message.lines)]
    if message.link:
        lines.append(f"<{_slack_link(message.link)}|{_slack_escape(_('Open in the portal'))}>")
    lines.append(f"_{_slack_escape(_('CloudVPN Portal'))}_")
    return {"text": "\n".join(lines)}


def _teams(message: Message) -> dict[str, Any]:
    """A Workflows ("Post to a channel when a webhook request is received") message: one Adaptive Card."""
    colour = {"good": "Good", "warning": "Warning", "attention": "Attention"}.get(message.tone, "Default")
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True,
         "color": colour},
        *({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in message.lines),
        {"type": "TextBlock", "text": _("CloudVPN Portal"), "isSubtle": True, "size": "Small", "wrap": True},
    ]
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard", "version": "1.4", "body": body}
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": _("Open in the portal"), "url": message.link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def _dingtalk(message: Message) -> dict[str, Any]:
    """A custom robot's markdown message; its markdown needs a blank line between lines. "CloudVPN"
    is in every message, for a robot whose security is a keyword."""
    parts = [f"#### {message.title}", *message.lines]
    if message.link:
        parts.append(f"[{_('Open in the portal')}]({message.link})")
    parts.append(_("CloudVPN Portal"))
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": "\n\n".join(parts)}}


def _wecom(message: Message) -> dict[str, Any]:
    """A group robot's markdown message (its three font colours: info, comment, warning)."""
    colour = {"good": "info", "warning": "warning", "attention": "warning"}.get(message.tone)
    title = f"**{message.title}**"
    parts = [f'<font color="{colour}">{title}</font>' if colour else title, *(f"> {line}" for line in message.lines)]
    if message.link:
        parts.append(f"[{_('Open in the portal')}]({message.link})")
    parts.append(f'<font color="comment">{_("CloudVPN Portal")}</font>')
    content = "\n".join(parts).encode()[:WECOM_MAX_BYTES].decode("utf-8", "ignore")
    return {"msgtype": "markdown", "markdown": {"content": content}}


CHAT_SHAPES: dict[str, Callable[[Message], dict[str, Any]]] = {
    WebhookFormat.SLACK: _slack, WebhookFormat.TEAMS: _teams, WebhookFormat.DINGTALK: _dingtalk,
    WebhookFormat.WECOM: _wecom,
}


# -- helpers ------------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _clip(text: str, limit: int = TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _label(choices: type[OperationState] | type[OperationKind], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _when(value: Any) -> str:
    """An ISO 8601 time in the portal's zone (its engineers read local time), to the minute, with its offset."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return _text(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.isoformat(sep=" ", timespec="minutes")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str) -> str:
    # <, > and | end a Slack link: percent-encoded, the URL still opens.
    return url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
