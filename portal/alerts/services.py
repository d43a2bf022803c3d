"""What changes alerts: rules and subscriptions, the beat's tick that evaluates the rules, the
events that operations and policies raise, and the notices each event sends.

The tick (every minute) reads each watched connection's minute traffic through
portal.traffic.watch (at most one IES traffic call per connection per tick, for every rule of it
together), the services' state from the mirror and the operations in flight from the database. A
condition fires once it held for its rule's window, reminds at most every ``renotify_minutes``, and
always clears. Notices are tasks of their own (a mail per subscriber; webhooks through
portal.webhooks), so a slow mail server or webhook never delays the tick.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ies_client import models as ies
from portal.alerts import dispatch, wording
from portal.alerts.models import (
    LEVEL_RANK,
    AlertEvent,
    AlertRule,
    AlertState,
    AlertSubscription,
    Direction,
    EventStatus,
    Level,
    OperationEvent,
    RuleKind,
)
from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.operations.models import IN_FLIGHT_STATES, Operation
from portal.operations.selectors import expectation_for
from portal.services.models import Service
from portal.tenants.models import Membership, Tenant
from portal.webhooks.services import webhook_event_emit

if TYPE_CHECKING:
    from django.http import HttpRequest

log = logging.getLogger(__name__)

# An operation counts as stuck past this many times its usual p90 (and at least a few minutes more).
STUCK_FACTOR = 1.5
STUCK_MARGIN = timedelta(minutes=3)
BAD_ACTIVE = {ies.ActiveStatus.DEACTIVE, ies.ActiveStatus.INACTIVE}
BAD_STATUS = {ies.ServiceStatus.FAILED, ies.ServiceStatus.CREATE_FAILED}


# -- rules and subscriptions ---------------------------------------------------------------------


RULE_FIELDS = ("name", "kind", "service_id", "direction", "warning_pct", "critical_pct", "clear_pct", "floor_kbps",
               "level", "window_minutes", "renotify_minutes", "operation_events", "policy_events", "enabled")


def rule_save(*, membership: Membership, values: dict[str, Any], rule: AlertRule | None = None,
              request: HttpRequest | None = None) -> AlertRule:
    """Create or change a rule (the form checked the values); a changed rule starts watching afresh."""
    creating = rule is None
    rule = rule or AlertRule(tenant=membership.tenant, created_by=membership.user)
    before = {f: getattr(rule, f) for f in RULE_FIELDS} if not creating else {}
    for field in RULE_FIELDS:
        if field in values:
            setattr(rule, field, values[field])
    with transaction.atomic():
        rule.save()
        if not creating:
            rule.states.all().delete()
            recount_notices(rule.tenant_id)
        after = {f: getattr(rule, f) for f in RULE_FIELDS}
        changed = {f: v for f, v in after.items() if before.get(f) != v}
        audit_record(action="alert_rule.create" if creating else "alert_rule.update", actor=membership.user,
                     tenant=rule.tenant, obj=rule, object_type="alert_rule",
                     before={f: before[f] for f in changed} if not creating else None,
                     after=changed, outcome=Outcome.SUCCEEDED, request=request)
    return rule


def rule_delete(*, membership: Membership, rule: AlertRule, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        audit_record(action="alert_rule.delete", actor=membership.user, tenant=rule.tenant, obj=rule,
                     object_type="alert_rule", before={"name": rule.name, "kind": rule.kind},
                     outcome=Outcome.SUCCEEDED, request=request)
        tenant_id = rule.tenant_id
        rule.delete()
        recount_notices(tenant_id)


def subscription_save(*, membership: Membership, email: bool, min_level: str, quiet_start: time | None,
                      quiet_end: time | None, language: str) -> AlertSubscription:
    """A user's own e-mail of the tenant's alerts (viewers too: it changes nothing of the tenant's)."""
    row, _created = AlertSubscription.objects.update_or_create(
        user=membership.user, tenant=membership.tenant,
        defaults={"email": email, "min_level": min_level, "quiet_start": quiet_start, "quiet_end": quiet_end,
                  "language": language})
    return row


def recount_notices(tenant_id: int) -> None:
    firing = AlertState.objects.filter(rule__tenant_id=tenant_id, rule__enabled=True).exclude(level="").count()
    Tenant.objects.filter(pk=tenant_id).exclude(alert_notices=firing).update(alert_notices=firing)


# -- events and their notices ------------------------------------------------------------------------


def _service_facts(service: Service | None) -> tuple[str, str]:
    return (service.ies_service_id, service.name) if service is not None else ("", "")


def raise_event(*, rule: AlertRule, status: str, level: str, facts: dict[str, Any], started_at: datetime,
                service: Service | None = None, subject: str = "", service_id: str = "",
                service_name: str = "") -> AlertEvent:
    """Record the event and send its notices once the caller's transaction commits."""
    sid, sname = _service_facts(service)
    event = AlertEvent.objects.create(
        tenant_id=rule.tenant_id, rule=rule, rule_name=rule.name, kind=rule.kind, level=level, status=status,
        subject=subject, service_id=service_id or sid, service_name=service_name or sname, facts=facts,
        started_at=started_at)
    notify(event, tenant=rule.tenant)
    return event


def alert_data(event: AlertEvent) -> dict[str, Any]:
    """The event as webhooks carry it (docs/webhooks.md), its summary in both languages."""
    base = settings.PORTAL_URL.rstrip("/")
    return {"alert": {
        "id": event.pk, "rule": {"id": event.rule_id, "name": event.rule_name, "kind": event.kind},
        "level": event.level, "status": event.status,
        "service": {"id": event.service_id, "name": event.service_name} if event.service_id else None,
        "summary": wording.summary(event, "en"), "summary_zh": wording.summary(event, "zh-hans"),
        "started_at": event.started_at.isoformat(), "created_at": event.created_at.isoformat(),
        "ended_at": event.created_at.isoformat() if event.status == EventStatus.CLEARED else None,
        "url": f"{base}/alerts/" if base else None}}


def notify(event: AlertEvent, *, tenant: Tenant) -> None:
    """Webhooks (the tenant's endpoints that take alert events) and a mail per subscriber who wants
    this level now; the page and the header's count need nothing sent."""
    webhook_event_emit(tenant=tenant, event_type="alert.cleared" if event.status == EventStatus.CLEARED
                       else "alert.firing", data=alert_data(event))
    now = timezone.now()
    for subscription in subscribers(tenant_id=tenant.pk, level=event.level, now=now):
        transaction.on_commit(functools.partial(dispatch.mail, event.pk, subscription.user_id))


def in_quiet_hours(subscription: AlertSubscription, now: datetime) -> bool:
    start, end = subscription.quiet_start, subscription.quiet_end
    if start is None or end is None or start == end:
        return False
    local = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE)).time()
    return start <= local < end if start < end else (local >= start or local < end)


def subscribers(*, tenant_id: int, level: str, now: datetime) -> list[AlertSubscription]:
    """Who gets a mail of an event of this level now: members and viewers of the tenant who asked for
    this level, have an address, and are not in their quiet hours (critical goes through those)."""
    rows = (AlertSubscription.objects.filter(tenant_id=tenant_id, email=True, user__is_active=True,
                                             user__memberships__tenant_id=tenant_id)
            .exclude(user__email="").select_related("user"))
    return [row for row in rows if LEVEL_RANK[Level(level)] >= LEVEL_RANK[Level(row.min_level)]
            and (level == Level.CRITICAL or not in_quiet_hours(row, now))]


# -- the tick ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class TickStats:
    rules: int = 0
    watched: int = 0  # (rule, subject) pairs evaluated
    connections: int = 0
    ies_calls: int = 0
    fired: int = 0
    cleared: int = 0
    reminded: int = 0
    skipped: bool = False


TICK_LOCK = "alerts:tick"
TICK_LOCK_SECONDS = 300  # a tick that died holding it: the next minutes' ticks wait at most this long


def alerts_tick(now: datetime | None = None) -> TickStats:
    """One look at every enabled rule. One tick at a time: a tick still running when the next is
    due (a slow IES) lets that one pass, rather than two ticks raising the same alert twice."""
    import uuid

    from django.core.cache import cache

    mine = uuid.uuid4().hex
    if not cache.add(TICK_LOCK, mine, TICK_LOCK_SECONDS) and cache.get(TICK_LOCK) is not None:
        log.warning("alerts tick skipped: the previous one is still running")
        return TickStats(skipped=True)
    try:
        return _tick(now or timezone.now())
    finally:
        if cache.get(TICK_LOCK) == mine:  # a tick that outlived the lock leaves the next one's alone
            cache.delete(TICK_LOCK)


def _tick(now: datetime) -> TickStats:
    stats = TickStats()
    rules = list(AlertRule.objects.filter(enabled=True, tenant__is_active=True).select_related("tenant")
                 .exclude(kind__in=[RuleKind.POLICY]))
    stats.rules = len(rules)
    by_tenant: dict[int, list[AlertRule]] = defaultdict(list)
    for rule in rules:
        by_tenant[rule.tenant_id].append(rule)
    for tenant_rules in by_tenant.values():
        try:
            _tick_tenant(tenant_rules, now=now, stats=stats)
        except Exception:  # one tenant's trouble never stops the others' alerts
            log.exception("alerts tick failed for tenant %s", tenant_rules[0].tenant_id)
    return stats


def _tick_tenant(rules: list[AlertRule], *, now: datetime, stats: TickStats) -> None:
    tenant = rules[0].tenant
    services = {s.ies_service_id: s for s in Service.objects.filter(tenant=tenant, gone_at__isnull=True)}
    states = {(s.rule_id, s.subject): s for s in AlertState.objects.filter(rule__in=rules).select_related("event")}
    traffic_rules = [r for r in rules if r.kind in (RuleKind.UTILISATION, RuleKind.QUIET)]
    changed = False
    if traffic_rules:
        changed |= _tick_traffic(tenant, traffic_rules, services, states, now=now, stats=stats)
    for rule in rules:
        if rule.kind == RuleKind.SERVICE_STATE:
            changed |= _tick_service_state(rule, services, states, now=now, stats=stats)
        elif rule.kind == RuleKind.OPERATION and OperationEvent.STUCK in (rule.operation_events or []):
            changed |= _tick_slow_operations(rule, services, states, now=now, stats=stats)
    stats.reminded += _remind(rules, states, now=now)
    # A service deleted (or no longer watched by its rule) while its alert fired: the alert goes
    # without a notice (the deletion told its own story), so the header's count does not stay up.
    orphans = [state.pk for (rule_id, subject), state in states.items()
               if state.pk and not subject.startswith("op:") and subject not in services]
    if orphans:
        AlertState.objects.filter(pk__in=orphans).delete()
        changed = True
    if changed:
        recount_notices(tenant.pk)


def _targets(rule: AlertRule, services: dict[str, Service]) -> list[Service]:
    if rule.service_id:
        service = services.get(rule.service_id)
        return [service] if service is not None and service.cloud_vpn_name else []
    return [s for s in services.values() if s.cloud_vpn_name]


def _tick_traffic(tenant: Tenant, rules: list[AlertRule], services: dict[str, Service],
                  states: dict[tuple[int, str], AlertState], *, now: datetime, stats: TickStats) -> bool:
    import numpy as np  # the worker starts without numpy (portal/worker.py); a tick with rules needs it

    from portal.alerts import conditions
    from portal.traffic import series, watch

    closed = watch.last_closed_minute(int(now.timestamp()))
    wanted: dict[str, tuple[int, set[ies.Direction]]] = {}
    pairs: list[tuple[AlertRule, Service]] = []
    for rule in rules:
        minutes = max(rule.window_minutes, conditions.CLEAR_MINUTES)
        directions = {ies.Direction.INBOUND, ies.Direction.OUTBOUND}
        if rule.kind == RuleKind.UTILISATION and rule.direction != Direction.EITHER:
            directions = {ies.Direction.INBOUND if rule.direction == Direction.INBOUND else ies.Direction.OUTBOUND}
        for service in _targets(rule, services):
            if rule.kind == RuleKind.UTILISATION and not service.bandwidth_kbps:
                continue
            start, dirs = wanted.get(service.cloud_vpn_name, (closed, set()))
            wanted[service.cloud_vpn_name] = (min(start, closed - minutes * 60), dirs | directions)
            pairs.append((rule, service))
    if not pairs:
        return False
    order = sorted(wanted)
    fetch_stats = series.FetchStats()
    readings = watch.read_minutes(tenant, [watch.Wanted(name, wanted[name][0], tuple(sorted(wanted[name][1])))
                                           for name in order], closed=closed, stats=fetch_stats)
    stats.ies_calls += fetch_stats.ies_calls
    stats.connections += len(readings)
    by_connection = {name: reading for name, reading in zip(order, readings, strict=True)}
    changed = False
    for rule, service in pairs:
        reading = by_connection[service.cloud_vpn_name]
        if reading.trouble is not None:
            continue  # no data proves nothing: the state stays as it was
        stats.watched += 1
        size = (closed - reading.wanted.start) // 60
        empty = np.full(size, np.nan)
        rate_in = reading.values.get(str(ies.Direction.INBOUND), empty)
        rate_out = reading.values.get(str(ies.Direction.OUTBOUND), empty)
        key = (rule.pk, service.ies_service_id)
        state = states.get(key)
        current = state.level if state is not None else ""
        if rule.kind == RuleKind.UTILISATION:
            per_pct = 100.0 / (float(service.bandwidth_kbps or 0) * 1000)
            if rule.direction == Direction.INBOUND:
                util = rate_in * per_pct
            elif rule.direction == Direction.OUTBOUND:
                util = rate_out * per_pct
            else:
                util = np.fmax(rate_in, rate_out) * per_pct
            verdict = conditions.utilisation(util, current=current, window=rule.window_minutes,
                                             warning=rule.warning_pct, critical=rule.critical_pct,
                                             clear=rule.clear_pct)
            threshold = rule.critical_pct if verdict.level == Level.CRITICAL else rule.warning_pct
            clear = rule.clear_pct if rule.clear_pct is not None else min(
                t for t in (rule.warning_pct, rule.critical_pct) if t is not None)
            facts = {"direction": rule.direction, "figure": verdict.figure, "threshold": threshold,
                     "clear": clear, "window": rule.window_minutes}
        else:
            busier = np.fmax(rate_in, rate_out) / 1000.0
            verdict = conditions.quiet(busier, current=current, level=rule.level, window=rule.window_minutes,
                                       floor=float(rule.floor_kbps or 0))
            facts = {"figure": verdict.figure, "floor": rule.floor_kbps, "window": rule.window_minutes}
        held_from = datetime.fromtimestamp(closed - rule.window_minutes * 60, tz=timezone.get_current_timezone())
        changed |= _transition(rule, service.ies_service_id, state, states, verdict.level, facts, service=service,
                               now=now, started_at=held_from, stats=stats)
    return changed


def _transition(rule: AlertRule, subject: str, state: AlertState | None, states: dict[tuple[int, str], AlertState],
                level: str, facts: dict[str, Any], *, now: datetime, started_at: datetime, stats: TickStats,
                service: Service | None = None, service_id: str = "", service_name: str = "") -> bool:
    """Apply a verdict: fire (or escalate), ease off silently, clear, or nothing. True when the
    tenant's count of firing alerts may have changed."""
    current = state.level if state is not None else ""
    if level == current:
        return False
    with transaction.atomic():
        if state is None:
            state = AlertState(rule=rule, subject=subject)
            states[(rule.pk, subject)] = state
        rising = not current or (level and LEVEL_RANK[Level(level)] > LEVEL_RANK[Level(current)])
        if not level:
            event = raise_event(rule=rule, status=EventStatus.CLEARED, level=current, facts=facts,
                                started_at=state.since or started_at, service=service, subject=subject,
                                service_id=service_id, service_name=service_name)
            state.level, state.since, state.last_notified_at, state.event = "", None, None, event
            state.pending_since = None
            stats.cleared += 1
        elif rising:
            event = raise_event(rule=rule, status=EventStatus.FIRING, level=level, facts=facts,
                                started_at=started_at, service=service, subject=subject, service_id=service_id,
                                service_name=service_name)
            state.level, state.last_notified_at, state.event = level, now, event
            state.since = state.since or started_at
            stats.fired += 1
        else:
            state.level = level  # eased off (critical to warning): no notice, the clear will come
        state.save()
    return True


def _remind(rules: list[AlertRule], states: dict[tuple[int, str], AlertState], *, now: datetime) -> int:
    """While a condition lasts: a reminder every ``renotify_minutes`` (0: none)."""
    by_id = {r.pk: r for r in rules}
    sent = 0
    for (rule_id, _subject), state in states.items():
        rule = by_id.get(rule_id)
        if (rule is None or not state.level or not rule.renotify_minutes or state.last_notified_at is None
                or now - state.last_notified_at < timedelta(minutes=rule.renotify_minutes)):
            continue
        first = state.event
        with transaction.atomic():
            raise_event(rule=rule, status=EventStatus.REMINDER, level=state.level,
                        facts=first.facts if first is not None else {}, started_at=state.since or now,
                        subject=state.subject, service_id=first.service_id if first else "",
                        service_name=first.service_name if first else "")
            AlertState.objects.filter(pk=state.pk).update(last_notified_at=now)
            state.last_notified_at = now
        sent += 1
    return sent


def _tick_service_state(rule: AlertRule, services: dict[str, Service], states: dict[tuple[int, str], AlertState],
                        *, now: datetime, stats: TickStats) -> bool:
    """From the mirror (no IES call): a service IES reports failed or inactive, not while an
    operation is changing it; it fires once that held for the rule's window."""
    changed = False
    targets = [services[rule.service_id]] if rule.service_id in services else (
        [] if rule.service_id else list(services.values()))
    for service in targets:
        stats.watched += 1
        key = (rule.pk, service.ies_service_id)
        state = states.get(key)
        busy = ies.in_progress(service.status) or ies.in_progress(service.active_status)
        bad = service.status in BAD_STATUS or (service.active_status in BAD_ACTIVE and not busy)
        if busy:
            continue
        word = service.status if service.status in BAD_STATUS else service.active_status
        level = Level.CRITICAL if service.status in BAD_STATUS else rule.level
        if bad and (state is None or not state.level):
            if state is None or state.pending_since is None:
                state = state or AlertState(rule=rule, subject=service.ies_service_id)
                state.pending_since = now
                state.save()
                states[key] = state
                continue
            if now - state.pending_since < timedelta(minutes=rule.window_minutes):
                continue
            changed |= _transition(rule, service.ies_service_id, state, states, level, {"state": word},
                                   service=service, now=now, started_at=state.pending_since, stats=stats)
        elif not bad and state is not None:
            if state.level:
                changed |= _transition(rule, service.ies_service_id, state, states, "", {"state": word},
                                       service=service, now=now, started_at=now, stats=stats)
            elif state.pending_since is not None:
                AlertState.objects.filter(pk=state.pk).update(pending_since=None)  # a flap: nothing sent
                state.pending_since = None
    return changed


def _tick_slow_operations(rule: AlertRule, services: dict[str, Service],
                          states: dict[tuple[int, str], AlertState], *, now: datetime, stats: TickStats) -> bool:
    """An operation in flight past its kind's usual time (the learned p90, with a margin): once, and
    cleared when it ends (operation_ended below)."""
    changed = False
    running = Operation.objects.filter(tenant_id=rule.tenant_id, state__in=IN_FLIGHT_STATES,
                                       submitted_at__isnull=False)
    if rule.service_id:
        running = running.filter(ies_service_id=rule.service_id)
    expectations: dict[tuple[str, str], float] = {}
    for op in running:
        key = (op.kind, op.definition_id)
        if key not in expectations:
            expectations[key] = expectation_for(kind=op.kind, definition_id=op.definition_id).p90_s
        limit = timedelta(seconds=expectations[key] * STUCK_FACTOR) + STUCK_MARGIN
        subject = f"op:{op.pk}"
        stats.watched += 1
        if op.submitted_at is None or now - op.submitted_at < limit or states.get((rule.pk, subject)) is not None:
            continue
        service = services.get(op.ies_service_id)
        changed |= _transition(rule, subject, None, states, Level.WARNING,
                               {"event": "stuck", "operation_kind": op.kind, "operation_id": op.pk},
                               service=service, service_name=op.service_name if service is None else "",
                               now=now, started_at=op.submitted_at, stats=stats)
    return changed


# -- operations and policies (receivers) -----------------------------------------------------------


def operation_event(*, operation: Operation, event: str) -> None:
    """An operation failed, halted or finished: an event for each operation rule that wants it;
    a "taking longer than usual" alert of it clears when it ends."""
    rules = AlertRule.objects.filter(tenant_id=operation.tenant_id, kind=RuleKind.OPERATION, enabled=True,
                                     tenant__is_active=True).select_related("tenant")
    subject = f"op:{operation.pk}"
    service = Service.objects.filter(tenant_id=operation.tenant_id, ies_service_id=operation.ies_service_id).first()
    facts = {"event": event, "operation_kind": operation.kind, "operation_id": operation.pk,
             "message": operation.message[:300]}
    level = {"failed": Level.CRITICAL, "stuck": Level.WARNING}.get(event, Level.INFO)
    now = timezone.now()
    for rule in rules:
        if rule.service_id and rule.service_id != operation.ies_service_id:
            continue
        slow = AlertState.objects.filter(rule=rule, subject=subject).exclude(level="").first()
        if slow is not None and event != "stuck":
            _transition(rule, subject, slow, {}, "", {**facts, "event": "finished"}, now=now, started_at=now,
                        stats=TickStats(), service=service, service_name=operation.service_name)
            recount_notices(rule.tenant_id)
        if event in (rule.operation_events or []):
            if event == "stuck" and slow is not None:
                continue  # already said
            raise_event(rule=rule, status=EventStatus.NOTICE, level=level, facts=facts, started_at=now,
                        service=service, subject=subject, service_name=operation.service_name)


def policy_event(*, tenant_id: int, service: Service | None, event: str, policy_name: str, kbps: int | None,
                 reason: str = "") -> None:
    rules = AlertRule.objects.filter(tenant_id=tenant_id, kind=RuleKind.POLICY, enabled=True,
                                     tenant__is_active=True).select_related("tenant")
    level = Level.WARNING if event == "refused" else Level.INFO
    facts = {"event": event, "policy": policy_name, "kbps": kbps, "reason": reason[:300]}
    now = timezone.now()
    for rule in rules:
        if rule.service_id and (service is None or rule.service_id != service.ies_service_id):
            continue
        if event in (rule.policy_events or []):
            raise_event(rule=rule, status=EventStatus.NOTICE, level=level, facts=facts, started_at=now,
                        service=service)


# -- mail -----------------------------------------------------------------------------------------


def mail_send(*, event_id: int, user_id: int) -> bool:
    """One subscriber's mail of one event (a task): text and HTML, in the language they chose."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.utils import translation

    event = AlertEvent.objects.filter(pk=event_id).select_related("tenant").first()
    if event is None:
        return False
    subscription = AlertSubscription.objects.filter(tenant_id=event.tenant_id, user_id=user_id,
                                                    email=True).select_related("user").first()
    if subscription is None or not subscription.user.email:
        return False
    language = subscription.language
    with translation.override(language):
        context = {"event": event, "summary": wording.summary(event, language),
                   "level": wording.level_label(event.level), "tenant": event.tenant.name,
                   "url": f"{settings.PORTAL_URL.rstrip('/')}/alerts/" if settings.PORTAL_URL else "",
                   "subscription_url": f"{settings.PORTAL_URL.rstrip('/')}/alerts/subscription/"
                   if settings.PORTAL_URL else ""}
        subject = wording.headline(event, language)
        text = render_to_string("alerts/mail.txt", context)
        html = render_to_string("alerts/mail.html", context)
    message = EmailMultiAlternatives(subject=subject[:200], body=text, to=[subscription.user.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True
