"""Bandwidth policies: setting them up, pausing them, and the engine that runs their planned changes.

Every change a policy makes is an ordinary tracked MODIFY operation (``service_bandwidth_change_planned``),
audited with the policy named as the actor. Each planned change (an :class:`Occurrence`) runs exactly
once: it leaves PLANNED only by a conditional UPDATE inside the transaction that starts its operation,
so a duplicated tick, two workers, or a worker killed mid-tick never change a service twice, and what
was not committed is planned still and runs at the next tick.

When the portal (or the tenant's automation) was stopped past a planned time, the engine catches up
once: of a policy's changes that are all due, only the latest runs, the earlier ones are skipped with
the reason. A change waits while another change of the service is in flight (a person's or its own),
and a revert is skipped when someone changed the bandwidth since the change it reverts.
"""

from __future__ import annotations

import logging
import math
import time as clock
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.bandwidth_input import CONTRACT_MAX_KBPS, CONTRACT_MIN_KBPS, CONTRACT_STEP_KBPS
from portal.core.http import SignedInRequest
from portal.core.units import format_kbps
from portal.operations.models import Operation, OperationKind, OperationState
from portal.policies import dispatch, weekly
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyKind, PolicyState
from portal.policies.signals import policy_event
from portal.services.models import Service
from portal.services.services import ChangeRefused, ServiceBusy, service_bandwidth_change_planned
from portal.tenants.models import Membership, Tenant

log = logging.getLogger(__name__)

RUN_BATCH = 200  # occurrences one tick takes on at most; the next tick takes the rest
LEAD = timedelta(minutes=1)  # a planned time must be at least this far ahead when it is set
# How far ahead a calendar's changes are planned as rows: the page lists them (the preview), and
# the planning task (every PLAN_AHEAD_SECONDS, far shorter) keeps the horizon full.
HORIZON = timedelta(days=7)
# Planned a day past the horizon, so that the planning task tops a calendar up once a day or so.
PLAN_SLACK = timedelta(days=1)
# An auto-scale change not started within this long of its decision is decided again instead.
AUTOSCALE_FRESH = timedelta(minutes=3)


class PolicyRefused(Exception):
    """A policy the portal will not set up or change, with the reason in the tenant's words."""


# -- setting up ---------------------------------------------------------------------------------


def _check_kbps(kbps: int) -> None:
    if not CONTRACT_MIN_KBPS <= kbps <= CONTRACT_MAX_KBPS or kbps % CONTRACT_STEP_KBPS:
        raise PolicyRefused(_("A bandwidth must be a whole number of Mbit/s from %(min)s to %(max)s Mbit/s.")
                            % {"min": CONTRACT_MIN_KBPS // 1000, "max": CONTRACT_MAX_KBPS // 1000})


@transaction.atomic
def policy_one_off_create(*, membership: Membership, service: Service, at: datetime, kbps: int,
                          revert_at: datetime | None = None, name: str = "",
                          request: SignedInRequest | None = None, now: datetime | None = None) -> BandwidthPolicy:
    """Plan a change of ``service`` to ``kbps`` at ``at`` and, with ``revert_at``, back to its present
    bandwidth then ("boost to 500 Mbit/s from Friday 18:00 to Monday 08:00")."""
    now = now or timezone.now()
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to plan changes."))
    if service.tenant_id != membership.tenant_id or service.gone_at is not None:
        raise PolicyRefused(_("The service was deleted."))
    _check_kbps(kbps)
    if at < now + LEAD:
        raise PolicyRefused(_("Plan the change at least a minute ahead."))
    if revert_at is not None and revert_at <= at:
        raise PolicyRefused(_("The change back must come after the change."))
    back_kbps = service.bandwidth_kbps or 0
    if revert_at is not None and not back_kbps:
        raise PolicyRefused(_("The portal does not know the service's present bandwidth, so it cannot plan the change back."))
    name = name.strip() or (_("Boost to %(mbps)s Mbit/s") if revert_at else _("Change to %(mbps)s Mbit/s")) % {
        "mbps": f"{kbps / 1000:g}"}
    policy = BandwidthPolicy.objects.create(tenant=membership.tenant, service=service, kind=PolicyKind.ONE_OFF,
                                            name=name[:80], created_by=membership.user)
    Occurrence.objects.create(policy=policy, due_at=at, kbps=kbps)
    if revert_at is not None:
        # The change back only undoes this policy's own change: a bandwidth someone set since stays.
        Occurrence.objects.create(policy=policy, due_at=revert_at, kbps=back_kbps, expect_kbps=kbps)
    audit_record(action="policy.create", actor=membership.user, tenant=membership.tenant, object_type="service",
                 object_id=service.ies_service_id, object_label=service.name, request=request,
                 after={"policy": policy.name, "kind": policy.kind, "plan": _plan(policy)})
    return policy


@transaction.atomic
def policy_weekly_create(*, membership: Membership, service: Service, calendar: weekly.WeeklyCalendar, name: str = "",
                         request: SignedInRequest | None = None, now: datetime | None = None) -> BandwidthPolicy:
    """A weekly calendar for ``service``: each window at its bandwidth, the rest (and holidays) at the
    default. The service is brought to what the calendar plans now at the next tick, then follows it."""
    now = now or timezone.now()
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to plan changes."))
    if service.tenant_id != membership.tenant_id or service.gone_at is not None:
        raise PolicyRefused(_("The service was deleted."))
    _check_calendar(calendar)
    policy = BandwidthPolicy.objects.create(
        tenant=membership.tenant, service=service, kind=PolicyKind.WEEKLY, created_by=membership.user,
        name=(name.strip() or _("Weekly calendar"))[:80], spec=calendar_spec(calendar))
    _plan_weekly(policy, now, initial=True)
    audit_record(action="policy.create", actor=membership.user, tenant=membership.tenant, object_type="service",
                 object_id=service.ies_service_id, object_label=service.name, request=request,
                 after={"policy": policy.name, "kind": policy.kind, "plan": _plan(policy)})
    return policy


def policy_weekly_update(*, membership: Membership, policy: BandwidthPolicy, calendar: weekly.WeeklyCalendar,
                         name: str = "", request: SignedInRequest | None = None,
                         now: datetime | None = None) -> BandwidthPolicy:
    """Edit a calendar in place: its planned changes are replaced by the edited calendar's, which
    starts from what it plans now (what has run stays in the history)."""
    now = now or timezone.now()
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to change policies."))
    _check_calendar(calendar)
    with transaction.atomic():
        locked = (BandwidthPolicy.objects.select_for_update(of=("self",)).select_related("service")
                  .get(pk=policy.pk, tenant=membership.tenant, kind=PolicyKind.WEEKLY))
        if locked.state == PolicyState.ENDED or locked.service.gone_at is not None:
            raise PolicyRefused(_("This policy has ended."))
        before = {"policy": locked.name, "calendar": locked.spec}
        # Deleted, not cancelled: they never ran, and the edited calendar may plan a change at the
        # same time (one row per policy and time).
        locked.occurrences.filter(state=OccurrenceState.PLANNED, due_at__gte=now).delete()
        locked.spec = calendar_spec(calendar)
        locked.name = (name.strip() or locked.name)[:80]
        locked.save(update_fields=["spec", "name"])
        if locked.state == PolicyState.ACTIVE:
            _plan_weekly(locked, now, initial=True)
        else:
            BandwidthPolicy.objects.filter(pk=locked.pk).update(planned_until=None)  # planned when resumed
        audit_record(action="policy.update", actor=membership.user, tenant=membership.tenant, object_type="service",
                     object_id=locked.service.ies_service_id, object_label=locked.service.name, request=request,
                     before=before, after={"policy": locked.name, "calendar": locked.spec})
    return locked


def _check_calendar(calendar: weekly.WeeklyCalendar) -> None:
    for kbps in {calendar.default_kbps, *(w.kbps for w in calendar.windows),
                 *(h.kbps for h in calendar.holidays if h.kbps is not None)}:
        _check_kbps(kbps)
    problems = weekly.problems(calendar)
    if problems:
        raise PolicyRefused(" ".join(problems))
    if not calendar.windows:
        raise PolicyRefused(_("Add at least one window: without one, the calendar is a lasting change."))


def calendar_spec(calendar: weekly.WeeklyCalendar) -> dict[str, Any]:
    return {
        "tz": calendar.tz.key, "default_kbps": calendar.default_kbps,
        "windows": [{"days": sorted(w.days), "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M"),
                     "kbps": w.kbps} for w in calendar.windows],
        "holidays": [{"day": h.day.isoformat(), "kbps": h.kbps} for h in calendar.holidays],
    }


def calendar_of(policy: BandwidthPolicy) -> weekly.WeeklyCalendar:
    spec = policy.spec
    return weekly.WeeklyCalendar(
        tz=ZoneInfo(spec["tz"]), default_kbps=spec["default_kbps"],
        windows=tuple(weekly.Window(frozenset(w["days"]), time.fromisoformat(w["start"]), time.fromisoformat(w["end"]),
                                    w["kbps"]) for w in spec["windows"]),
        holidays=tuple(weekly.Holiday(date.fromisoformat(h["day"]), h["kbps"]) for h in spec.get("holidays", [])))


def _plan_weekly(policy: BandwidthPolicy, now: datetime, *, initial: bool = False) -> int:
    """Plan the calendar's changes as rows from where it was planned up to (or now) to the horizon
    and a day (one row per policy and time: what is planned already stays). ``initial``: from now,
    with what it plans now, to start from."""
    until = now + HORIZON + PLAN_SLACK
    since = policy.planned_until if not initial and policy.planned_until and policy.planned_until > now else now
    if since is not now:
        since -= timedelta(seconds=1)  # weekly.changes is open at both ends: a change at the seam stays in
    plan = weekly.changes(calendar_of(policy), since, until)
    rows = [Occurrence(policy=policy, due_at=at, kbps=kbps) for at, kbps in plan[1:]]
    if initial and plan[0][1] != policy.service.bandwidth_kbps:
        rows.insert(0, Occurrence(policy=policy, due_at=now, kbps=plan[0][1]))
    # Two planners at once (a duplicated beat) insert the same rows: the unique constraint keeps one.
    Occurrence.objects.bulk_create(rows, ignore_conflicts=True)
    BandwidthPolicy.objects.filter(pk=policy.pk).update(planned_until=until)
    return len(rows)


def policies_plan_ahead(now: datetime | None = None) -> int:
    """Keep every active calendar planned past the horizon; run by the beat. A calendar is planned a
    day past it, so each is topped up about once a day, not at every run."""
    now = now or timezone.now()
    planned = 0
    due = (BandwidthPolicy.objects.filter(kind=PolicyKind.WEEKLY, state=PolicyState.ACTIVE)
           .filter(Q(planned_until__isnull=True) | Q(planned_until__lt=now + HORIZON)))
    for policy in due.select_related("service").iterator(chunk_size=500):
        planned += _plan_weekly(policy, now)
    return planned


def _plan(policy: BandwidthPolicy) -> str:
    """"2026-12-11 18:00 CST: 500 Mbit/s; 2026-12-14 08:00 CST: 100 Mbit/s", for the audit log."""
    return "; ".join(f"{timezone.localtime(o.due_at):%Y-%m-%d %H:%M %Z}: {format_kbps(o.kbps)}"
                     for o in policy.occurrences.filter(state=OccurrenceState.PLANNED))


def _set_state(*, membership: Membership, policy: BandwidthPolicy, state: str, action: str, note: str = "",
               request: SignedInRequest | None = None) -> BandwidthPolicy:
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to change policies."))
    with transaction.atomic():
        locked = BandwidthPolicy.objects.select_for_update().get(pk=policy.pk, tenant=membership.tenant)
        if locked.state == PolicyState.ENDED:
            raise PolicyRefused(_("This policy has ended."))
        before = locked.state
        locked.state = state
        locked.note = note
        attention, locked.needs_attention = locked.needs_attention, False  # a member has dealt with it
        if state == PolicyState.ENDED:
            locked.ended_at = timezone.now()
            locked.occurrences.filter(state=OccurrenceState.PLANNED).update(
                state=OccurrenceState.CANCELLED, note=_("Cancelled with the policy."))
        locked.save(update_fields=["state", "note", "ended_at", "needs_attention"])
        if state == PolicyState.ENDED:
            proposals = locked.occurrences.filter(state=OccurrenceState.PROPOSED).update(
                state=OccurrenceState.CANCELLED, note=_("Cancelled with the policy."))
        else:
            proposals = 0
        if attention or proposals:
            recount_notices(locked.tenant_id)
        audit_record(action=action, actor=membership.user, tenant=membership.tenant, object_type="service",
                     object_id=locked.service.ies_service_id, object_label=locked.service.name, request=request,
                     before={"policy": locked.name, "state": before}, after={"policy": locked.name, "state": state})
    return locked


def policy_pause(*, membership: Membership, policy: BandwidthPolicy, request: SignedInRequest | None = None) -> BandwidthPolicy:
    return _set_state(membership=membership, policy=policy, state=PolicyState.PAUSED, action="policy.pause",
                      note=_("Paused by %(who)s.") % {"who": membership.user.get_username()}, request=request)


def policy_resume(*, membership: Membership, policy: BandwidthPolicy, request: SignedInRequest | None = None) -> BandwidthPolicy:
    resumed = _set_state(membership=membership, policy=policy, state=PolicyState.ACTIVE, action="policy.resume",
                         request=request)
    if resumed.kind == PolicyKind.WEEKLY:
        # What the calendar plans now, then on: changes missed while paused are not replayed one by one.
        _plan_weekly(resumed, timezone.now(), initial=True)
    return resumed


def policy_end(*, membership: Membership, policy: BandwidthPolicy, request: SignedInRequest | None = None) -> BandwidthPolicy:
    return _set_state(membership=membership, policy=policy, state=PolicyState.ENDED, action="policy.end",
                      note=_("Ended by %(who)s.") % {"who": membership.user.get_username()}, request=request)


def tenant_automation_set(*, membership: Membership, paused: bool, request: SignedInRequest | None = None) -> None:
    """The tenant's one switch: while paused, no policy of the tenant changes anything."""
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to change policies."))
    Tenant.objects.filter(pk=membership.tenant_id).update(automation_paused=paused)
    audit_record(action="policy.automation_pause" if paused else "policy.automation_resume", actor=membership.user,
                 tenant=membership.tenant, object_type="tenant", object_id=str(membership.tenant_id),
                 object_label=membership.tenant.name, request=request)


# -- the engine ---------------------------------------------------------------------------------


def policies_run_due(now: datetime | None = None) -> int:
    """Start the planned changes that are due; the number started. Run by the beat's tick, and at
    the time of each change due before the next tick (see _ask_for_upcoming)."""
    now = now or timezone.now()
    _ask_for_upcoming(now)
    # A scheduled change keeps a promised time; an auto-scale change is elastic (and re-decided when
    # stale): after a burst of auto-scale decisions, the scheduled ones still start first.
    elastic = Case(When(policy__kind=PolicyKind.AUTOSCALE, then=Value(1)), default=Value(0))
    due = list(Occurrence.objects.filter(state=OccurrenceState.PLANNED, due_at__lte=now,
                                         policy__state=PolicyState.ACTIVE,
                                         policy__tenant__automation_paused=False)
               .order_by(elastic, "due_at").values_list("pk", flat=True)[:RUN_BATCH])
    started = 0
    for pk in due:
        try:
            started += _run(pk, now)
        except Exception:  # one occurrence's trouble never holds up the others
            log.exception("planned change %s failed to start", pk)
    return started


def _ask_for_upcoming(now: datetime) -> None:
    """The tick comes every POLICY_TICK_SECONDS: a change due before the next one gets a run of its
    own at its time (rounded up to the second, one run per second asked once through the cache), so
    it starts within moments of its time rather than up to a tick later. Without the cache or the
    broker, the tick still starts it."""
    horizon = now + timedelta(seconds=settings.POLICY_TICK_SECONDS)
    upcoming = (Occurrence.objects.filter(state=OccurrenceState.PLANNED, due_at__gt=now, due_at__lte=horizon,
                                          policy__state=PolicyState.ACTIVE, policy__tenant__automation_paused=False)
                .order_by("due_at").values_list("due_at", flat=True).distinct()[:50])
    seconds = sorted({math.ceil(at.timestamp()) for at in upcoming})
    for second in seconds:
        if cache.add(f"policies:run_due:{second}", 1, timeout=int(settings.POLICY_TICK_SECONDS) + 60):
            dispatch.run_due(countdown=max(0.0, second - clock.time()))


def run_occurrence(pk: int, now: datetime) -> int:
    """Start one planned change now (an approved proposal): 1 when it started; 0 when it waits for
    the next run (another change in flight) or was skipped with the reason."""
    return _run(pk, now)


def recount_notices(tenant_id: int) -> None:
    """What the tenant's policies ask of its members, counted into the tenant's row (the header
    reads it with the membership): proposals to approve and policies IES refused."""
    proposals = Occurrence.objects.filter(policy__tenant_id=tenant_id, state=OccurrenceState.PROPOSED).count()
    refused = BandwidthPolicy.objects.filter(tenant_id=tenant_id, needs_attention=True).exclude(
        state=PolicyState.ENDED).count()
    Tenant.objects.filter(pk=tenant_id).update(policy_notices=proposals + refused)


def _run(pk: int, now: datetime) -> int:
    with transaction.atomic():
        # Only the occurrence's row is locked: the service's is locked by the change itself.
        occurrence = (Occurrence.objects.select_for_update(of=("self",))
                      .select_related("policy", "policy__service", "policy__tenant").get(pk=pk))
        policy = occurrence.policy
        if (occurrence.state != OccurrenceState.PLANNED or policy.state != PolicyState.ACTIVE
                or policy.tenant.automation_paused):
            return 0
        service = policy.service
        if service.gone_at is not None:
            _end_with_service(policy)
            return 0
        if (policy.kind == PolicyKind.AUTOSCALE and occurrence.decided_by_id is None
                and now - occurrence.due_at > AUTOSCALE_FRESH):
            return _skip(occurrence, _("Decided too long ago: auto-scale decides again on fresh traffic."), now)
        later = (Occurrence.objects.filter(policy=policy, state=OccurrenceState.PLANNED, due_at__gt=occurrence.due_at,
                                           due_at__lte=now).exists())
        if later:
            return _skip(occurrence, _("Its time passed while changes were stopped, and a later change of the same "
                                       "policy is due: only the later one runs."), now)
        if service.bandwidth_kbps == occurrence.kbps:
            return _skip(occurrence, _("The service already has this bandwidth: nothing to change."), now)
        if occurrence.expect_kbps is not None and service.bandwidth_kbps != occurrence.expect_kbps:
            return _skip(occurrence, _("The bandwidth was changed since this policy's change (it is %(kbps)s kbit/s now): "
                                       "it is not changed back.") % {"kbps": service.bandwidth_kbps}, now)
        try:
            op = service_bandwidth_change_planned(tenant=policy.tenant, service=service, new_kbps=occurrence.kbps,
                                                  actor_name=policy.actor_name)
        except ServiceBusy:
            return 0  # another change is in flight: this one waits for the next tick
        except ChangeRefused as refused:
            return _skip(occurrence, str(refused), now)
        claimed = Occurrence.objects.filter(pk=pk, state=OccurrenceState.PLANNED).update(
            state=OccurrenceState.STARTED, operation=op, ran_at=now)
        if claimed != 1:
            transaction.set_rollback(True)  # another run took it first: its operation is the one
            return 0
        policy_event.send(sender=BandwidthPolicy, tenant_id=policy.tenant_id, service=service, event="taken",
                          policy_name=policy.name or policy.get_kind_display(), kbps=occurrence.kbps, reason="")
    return 1


def _skip(occurrence: Occurrence, note: str, now: datetime) -> int:
    Occurrence.objects.filter(pk=occurrence.pk, state=OccurrenceState.PLANNED).update(
        state=OccurrenceState.SKIPPED, note=note, ran_at=now)
    _end_when_done(occurrence.policy)
    return 0


def _end_when_done(policy: BandwidthPolicy) -> None:
    """A one-off policy ends once none of its changes is planned or in flight."""
    if policy.kind != PolicyKind.ONE_OFF:
        return
    if policy.occurrences.filter(state=OccurrenceState.PLANNED).exists():
        return
    if policy.occurrences.filter(state=OccurrenceState.STARTED,
                                 operation__state__in=(OperationState.QUEUED, OperationState.PROCESSING)).exists():
        return
    BandwidthPolicy.objects.filter(pk=policy.pk).exclude(state=PolicyState.ENDED).update(
        state=PolicyState.ENDED, ended_at=timezone.now())


def _end_with_service(policy: BandwidthPolicy) -> None:
    note = _("The service was deleted.")
    policy.occurrences.filter(state__in=(OccurrenceState.PLANNED, OccurrenceState.PROPOSED)).update(
        state=OccurrenceState.CANCELLED, note=note)
    BandwidthPolicy.objects.filter(pk=policy.pk).exclude(state=PolicyState.ENDED).update(
        state=PolicyState.ENDED, note=note, ended_at=timezone.now(), needs_attention=False)
    recount_notices(policy.tenant_id)


def policy_operation_ended(sender: type, operation: Operation, gone: bool = False, **kwargs: Any) -> None:
    """Receiver of ``operation_finished`` (inside its transaction): a deleted service ends its
    policies; a change IES refused pauses the policy that asked for it, with IES's reason."""
    if operation.service_id is None:
        return
    if operation.kind == OperationKind.DELETE and (gone or operation.state == OperationState.SUCCEEDED):
        for policy in BandwidthPolicy.objects.filter(service_id=operation.service_id).exclude(state=PolicyState.ENDED):
            _end_with_service(policy)
        return
    occurrence = Occurrence.objects.filter(operation=operation).select_related("policy").first()
    if occurrence is None:
        return
    if operation.state in (OperationState.FAILED, OperationState.ROLLED_BACK):
        reason = operation.message or operation.get_state_display()
        BandwidthPolicy.objects.filter(pk=occurrence.policy_id, state=PolicyState.ACTIVE).update(
            state=PolicyState.PAUSED, needs_attention=True,
            note=_("Paused: IES refused its change (%(reason)s).") % {"reason": reason})
        recount_notices(occurrence.policy.tenant_id)
        policy = occurrence.policy
        policy_event.send(sender=BandwidthPolicy, tenant_id=policy.tenant_id, service=policy.service,
                          event="refused", policy_name=policy.name or policy.get_kind_display(),
                          kbps=occurrence.kbps, reason=reason)
    else:
        _end_when_done(occurrence.policy)
