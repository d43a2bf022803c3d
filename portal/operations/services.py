"""The life of an Operation: queued → sent to IES → polled → an outcome, each step a conditional UPDATE.

Every function here takes ids or rows, reloads what it needs and is safe to run twice: a task
delivered again, a sweeper that re-enqueues, or two workers racing all end in the same single outcome.

Who calls what:
- views (through the catalog/services apps) call `operation_start`;
- the `operations.submit` task calls `operation_submit`;
- the `operations.track` task calls `operation_poll`;
- the beat sweeper calls `operations_sweep`; a person's "check again" calls `operation_recheck`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Min, Q, TextField, Value, When
from django.http import HttpRequest
from django.utils import timezone

from ies_client import models as ies
from ies_client.errors import (
    IESAuthError,
    IESCircuitOpen,
    IESConflict,
    IESError,
    IESNotFound,
    IESUnavailable,
    IESValidationError,
)
from portal.audit.models import Outcome
from portal.audit.services import audit_record, client_address
from portal.core.dispatch import live_workers
from portal.operations import dispatch, messages, observe, timing
from portal.operations.models import (
    HALTED_STATES,
    Operation,
    OperationKind,
    OperationSeen,
    OperationsSeenMark,
    OperationState,
)
from portal.operations.selectors import expectation_for
from portal.operations.signals import operation_finished, operation_halted
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ies_client.client import IESClient
    from portal.catalog.models import Order
    from portal.services.models import Service
    from portal.tenants.models import Tenant

log = logging.getLogger(__name__)

# Keyed by the kind as stored (a plain str from the database compares equal to its member).
IES_KIND: dict[str, ies.OperationKind] = {OperationKind.CREATE: ies.OperationKind.CREATE, OperationKind.MODIFY: ies.OperationKind.UPDATE,
            OperationKind.DELETE: ies.OperationKind.DELETE}
AUDIT_ACTION: dict[str, str] = {OperationKind.CREATE: "service.create", OperationKind.MODIFY: "service.modify",
                OperationKind.DELETE: "service.delete"}


def _submit_grace() -> timedelta:
    # While a submission is under way the sweeper must not start a second one: give it the whole
    # time a write may take (connect + read timeout) and a margin.
    return timedelta(seconds=2 * (settings.IES_CONNECT_TIMEOUT + settings.IES_READ_TIMEOUT) + 30)


def _late_grace() -> timedelta:
    # How late a reminder may start before the sweeper sends another. Short, so that the looks a
    # killed worker held are resumed within seconds of a worker (and the sweeper) running again; safe,
    # because a look begins by claiming what is due (`_claim_for_look`): a second look sent for the
    # same moment finds nothing left to claim and asks IES nothing.
    return timedelta(seconds=max(5.0, settings.OPERATION_SWEEP_SECONDS))


def _revive_grace() -> timedelta:
    # A reminder the sweeper just sent is given longer to start: under a backlog it waits its turn
    # in the queue, and sending it again each sweep would only lengthen the queue.
    return 3 * _late_grace()


def _poll_lease() -> timedelta:
    # While a look at IES is under way (the tenant's list, the status, then the service to confirm
    # the end, each with its retries), nobody else takes its operations: a slow IES is not asked
    # twice. A lease also ends further off than any next look ever is (`_not_leased_after`), so a
    # look that takes every operation not held (a list look) never takes another look's.
    one_call = (settings.IES_CONNECT_TIMEOUT + settings.IES_READ_TIMEOUT) * (settings.IES_RETRIES + 1)
    return timedelta(seconds=3 * one_call + 10) + _not_leased_after()


# -- starting ---------------------------------------------------------------------------------


def operation_start(
    *,
    tenant: Tenant,
    kind: str,
    requested_by: User | None = None,
    request: HttpRequest | None = None,
    service: Service | None = None,
    order: Order | None = None,
    ies_service_id: str = "",
    service_name: str = "",
    definition_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_name: str = "",
) -> Operation:
    """Record that a person (or, named by ``actor_name``, a policy) asked for a change; the
    submission runs in a task after commit."""
    now = timezone.now()
    op = Operation.objects.create(
        tenant=tenant,
        kind=kind,
        state=OperationState.QUEUED,
        service=service,
        order=order,
        ies_service_id=ies_service_id or (service.ies_service_id if service else ""),
        service_name=service_name or (service.name if service else ""),
        definition_id=definition_id or (service.service_definition_id if service else ""),
        before=before,
        after=after,
        requested_by=requested_by,
        actor_name=actor_name[:150],
        client_address=client_address(request),
        # Until the submission starts (it then claims the time it needs): a reminder lost with a
        # worker is sent again within seconds.
        next_poll_at=now + _late_grace(),
    )
    audit_record(action=AUDIT_ACTION[kind], actor=requested_by, tenant=tenant, object_type="service",
                 object_id=op.ies_service_id, object_label=op.service_name, before=before, after=after,
                 outcome=Outcome.REQUESTED, request=request, operation=op, actor_name=actor_name)
    _enqueue_submit(op.pk, op.poll_ticket)
    return op


def _enqueue_submit(op_id: int, ticket: int) -> None:
    transaction.on_commit(lambda: dispatch.submit(op_id, ticket))


def _enqueue_look(tenant_id: int, at: datetime) -> None:
    transaction.on_commit(lambda: _ask_for_look(tenant_id, at))


def _claim(op: Operation, states: Iterable[str], **changes: Any) -> bool:
    """Move `op` on only if nobody else did in between (same state and ticket). Updates `op`."""
    done = Operation.objects.filter(pk=op.pk, state__in=list(states), poll_ticket=op.poll_ticket).update(**changes)
    if done:
        for key, value in changes.items():
            if not hasattr(value, "resolve_expression"):
                setattr(op, key, value)
    return bool(done)


# -- submitting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    service_id: str
    operation_id: str


def operation_submit(op_id: int, ticket: int, *, holder: str = "") -> None:
    """Send a queued operation to IES, exactly once, then start tracking it. `holder`: the worker
    process sending it (see `worker_identity`), so that a worker starting after that one was
    killed can resume the submission soon (`operations_sweep`)."""
    op = Operation.objects.select_related("tenant", "order", "service").filter(pk=op_id).first()
    if op is None or op.state != OperationState.QUEUED or op.poll_ticket != ticket:
        return
    # Take the operation for one submission attempt: push the sweeper's deadline out and take a new
    # ticket. The sweeper's claim needs the old ticket and an overdue deadline, so of this claim and
    # the sweeper's (or a second delivery of this task) exactly one wins: one submitter at a time.
    if not _claim(op, [OperationState.QUEUED], poll_ticket=op.poll_ticket + 1,
                  next_poll_at=timezone.now() + _submit_grace()):
        return
    _lease_submission(op.pk, holder)
    # Counted before sending: if this worker dies mid-request, the next attempt knows that
    # something may have reached IES and reconciles first.
    attempted_before = op.ies_calls > 0
    Operation.objects.filter(pk=op.pk).update(ies_calls=F("ies_calls") + 1)
    result: SubmitResult | None = None
    reconciled = False
    try:
        client = ies_for_tenant(op.tenant)
        if attempted_before:
            result = _reconcile(op, client)
            reconciled = True
        result = result or _send(op, client)
    except IESCircuitOpen:
        if not reconciled:
            # The circuit breaker refused the call: nothing reached IES, so nothing is counted (and
            # the next attempt need not reconcile on this one's account).
            Operation.objects.filter(pk=op.pk).update(ies_calls=F("ies_calls") - 1)
        _retry_submit_later(op)
        return
    except TenantNotConfigured:
        _halt(op, OperationState.NEEDS_ATTENTION, messages.NO_TOKEN)
        return
    except IESAuthError:
        _halt(op, OperationState.NEEDS_ATTENTION, messages.TOKEN_REFUSED)
        return
    except IESValidationError as exc:
        if op.order is not None:
            op.order.field_errors = exc.field_errors
            op.order.save(update_fields=["field_errors"])
        _finish(op, OperationState.FAILED, messages.REJECTED)
        return
    except IESConflict:
        _finish(op, OperationState.FAILED, messages.BUSY)
        return
    except IESNotFound:
        if op.kind == OperationKind.DELETE:
            # Gone already (an earlier attempt, or someone else): what the tenant asked for is true.
            _finish(op, OperationState.SUCCEEDED, messages.ALREADY_GONE, gone=True)
        else:
            _finish(op, OperationState.FAILED, messages.SERVICE_UNKNOWN)
        return
    except IESError:
        # Unavailable, a 5xx, an answer that makes no sense: keep the order, try again later. If the
        # request may have reached IES, the next attempt reconciles before it sends anything.
        _retry_submit_later(op)
        return
    finally:
        _release_submission(op.pk, holder)
    if result is None:  # delete of a service IES removed at once (a CreateFailed one)
        _finish(op, OperationState.SUCCEEDED, messages.DELETED_AT_ONCE)
        return
    expectation = expectation_for(kind=op.kind, definition_id=op.definition_id)
    now = timezone.now()
    delay = timing.next_poll_delay(0.0, expectation.median_s)
    if _claim(op, [OperationState.QUEUED], state=OperationState.PROCESSING, ies_service_id=result.service_id,
              ies_operation_id=result.operation_id, submitted_at=now, message="",
              expected_seconds=expectation.median_s, expected_p90_seconds=expectation.p90_s,
              expected_learned=expectation.learned,
              give_up_at=now + timing.give_up_after(expectation.median_s),
              next_poll_at=now + timedelta(seconds=delay)):
        first_look = now + timedelta(seconds=delay)
        if op.order is not None and not op.order.ies_service_id:
            type(op.order).objects.filter(pk=op.order.pk).update(ies_service_id=result.service_id, field_errors={})
        _enqueue_look(op.tenant_id, first_look)


def _retry_submit_later(op: Operation) -> None:
    retry_in = float(settings.OPERATION_SUBMIT_RETRY_SECONDS)
    Operation.objects.filter(pk=op.pk, poll_ticket=op.poll_ticket).update(
        message=messages.SEND_FAILED, next_poll_at=timezone.now() + timedelta(seconds=retry_in) + _late_grace(),
    )
    dispatch.submit(op.pk, op.poll_ticket, countdown=retry_in)


def _send(op: Operation, client: IESClient) -> SubmitResult | None:
    ref: ies.OperationRef | None
    if op.kind == OperationKind.CREATE:
        order = op.order
        assert order is not None, "a create is always started from its order"
        ref = client.create_service(
            name=order.name, description=order.description,
            definition=(order.definition_id, order.template_id, order.list_key),
            parameters=order.parameters, rollback_on_failure=True,
        )
    elif op.kind == OperationKind.MODIFY:
        # The client addresses the connection from the service's kind (an operation started before
        # the kind was enough kept the list key it was sent with).
        # The mirror row may be gone meanwhile (SET_NULL): the operation's own copy of the name
        # still addresses the service, and the client's default list key applies.
        service, after = op.service, op.after or {}
        target = ies.Service(service_id=op.ies_service_id, name=service.name if service else op.service_name,
                             kind=ies.ServiceKind.parse(service.kind) if service else None,
                             cloud_vpn_name=after["cloud_vpn_name"], list_key=after.get("list_key"))
        ref = client.change_bandwidth(target, int(after["bandwidth_kbps"]))
    else:
        ref = client.delete_service(op.ies_service_id)
        if ref is None:
            return None
    return SubmitResult(service_id=ref.service_id, operation_id=ref.operation_id)


def _reconcile(op: Operation, client: IESClient) -> SubmitResult | None:
    """Find out whether an earlier attempt already reached IES, so that nothing is sent twice.

    A create is found by its name (IES-API.md offers no client token); a change by the service's
    in-progress status and the newest matching entry of its operation log.
    """
    if op.kind == OperationKind.CREATE:
        assert op.order is not None, "a create is always started from its order"
        found = client.find_services_by_name(op.order.name)
        if not found:
            return None
        service = found[0]
        return SubmitResult(service_id=service.service_id, operation_id=_latest_operation_id(client, service.service_id,
                                                                                          ies.OperationKind.CREATE))
    service = client.get_service(op.ies_service_id)  # IESNotFound: handled by the caller
    expected_status = (ies.ServiceStatus.UPDATE_IN_PROGRESS if op.kind == OperationKind.MODIFY
                       else ies.ServiceStatus.DELETE_IN_PROGRESS)
    if service.status == expected_status:
        return SubmitResult(service_id=service.service_id,
                            operation_id=_latest_operation_id(client, service.service_id, IES_KIND[op.kind]))
    return None


def _latest_operation_id(client: IESClient, service_id: str, ies_kind: ies.OperationKind) -> str:
    try:
        ops = [o for o in client.list_operations(service_id) if o.kind == ies_kind]
    except IESError:
        return ""  # tracked by the service's status instead
    ops.sort(key=lambda o: o.started_at or datetime.min.replace(tzinfo=UTC))
    return ops[-1].operation_id if ops else ""


# -- tracking ---------------------------------------------------------------------------------
# A tenant's operations are looked at together: one reminder per tenant ("look"), not one per
# operation. A look claims the operations that are due, asks IES about them (one list of the
# tenant's services covers every operation it shows still running; the others are read, several at a
# time), and writes what it learned in one UPDATE (an operation that ended is finished on its own,
# with its audit event). Then it asks for the tenant's next look, at the earliest next look of its
# operations. While a look is under way its operations carry the look's lease in `next_poll_at`
# (unique to the look): a write of a look whose operations were taken over meanwhile (a sweep after a
# worker start) changes nothing, and of two looks that both see an end, the ticket decides.


@dataclass(frozen=True)
class _Later:
    """An operation still running: when to look again, what to say meanwhile, what this look cost."""

    delay: float
    note: str = ""
    calls: int = 0
    looked: bool = True


def operations_look(tenant_id: int, eta: float | None = None) -> int:
    """Look at IES once for the tenant's operations that are due, record what it said and ask for
    the tenant's next look. `eta`: when this look was asked for (see `_ask_for_look`). Returns how
    many operations were looked at."""
    _look_started(tenant_id, eta)
    now = timezone.now()
    in_flight = list(Operation.objects.filter(tenant_id=tenant_id, state=OperationState.PROCESSING)
                     .values_list("pk", "ies_service_id", "next_poll_at", "submitted_at", "expected_seconds"))
    due = [row[0] for row in in_flight if row[2] is None or row[2] <= now]
    try:
        return _look(in_flight, due, now) if due else 0
    finally:
        # Whatever happened to this look, the tenant's next one is asked for: a look that failed
        # half-way must not end the tenant's tracking until the sweeper notices.
        _schedule_look(tenant_id)


def operation_poll(op_id: int, ticket: int) -> None:
    """A reminder about one operation (a person's "check again", or one queued by a portal that
    tracked operations one by one): it is due now, and its tenant is looked at."""
    tenant_id = (Operation.objects.filter(pk=op_id, state=OperationState.PROCESSING, poll_ticket=ticket)
                 .values_list("tenant_id", flat=True).first())
    if tenant_id is None:
        return
    Operation.objects.filter(pk=op_id, state=OperationState.PROCESSING, poll_ticket=ticket).update(
        next_poll_at=timezone.now())
    operations_look(tenant_id)


def _look(in_flight: list[tuple], due: list[int], now: datetime) -> int:
    lease = now + _poll_lease() + timedelta(microseconds=secrets.randbelow(999_999) + 1)
    by_list = len(in_flight) >= settings.OPERATION_LIST_LOOK_MIN
    if by_list:
        # One list covers them all: every operation not held by another look is taken, so that all
        # of them are looked at now and their next looks fall together (one list call for them all,
        # at the pace of the one that needs it soonest, instead of one at each of their own times).
        latest = now + _not_leased_after()
        claimed = _claim_for_look([row[0] for row in in_flight], lease,
                                  Q(next_poll_at__lte=latest) | Q(next_poll_at__isnull=True))
    else:
        claimed = _claim_for_look(due, lease, Q(next_poll_at__lte=now) | Q(next_poll_at__isnull=True))
    if not claimed:
        return 0
    try:
        return _look_at(claimed, by_list, now, lease)
    except Exception:
        # Let the next look take them soon rather than when the lease ends (minutes).
        Operation.objects.filter(pk__in=[op.pk for op in claimed], state=OperationState.PROCESSING,
                                 next_poll_at=lease).update(next_poll_at=now + _late_grace())
        raise


def _look_at(claimed: list[Operation], by_list: bool, now: datetime, lease: datetime) -> int:
    try:
        client = ies_for_tenant(claimed[0].tenant)
    except TenantNotConfigured:
        for op in claimed:
            _halt(op, OperationState.NEEDS_ATTENTION, messages.NO_TOKEN)
        return len(claimed)
    _relearn(claimed, now)
    seen: dict[int, observe.Seen] = {}
    listing: observe.Listing | None = None
    if by_list:
        try:
            listing = observe.list_services(client)
        except IESError as exc:
            # Nothing is known of any of them: the same answer for each, and no read per operation
            # (an IES that failed the list would fail those too).
            seen = {op.pk: observe.Seen(error=exc) for op in claimed}
    later: dict[int, _Later] = {}
    if not seen:
        to_read = []
        for op in claimed:
            if wait := _too_young(op, now):
                # Moments after IES took it, IES may not show it running yet (an IES without the
                # operations endpoint would then read as ended): its first look comes later.
                later[op.pk] = _Later(wait, looked=False)
            else:
                to_read.append(_watched(op))
        seen.update(observe.observe(client, to_read, listing=listing))
    for op in claimed:
        if op.pk in later:
            continue
        try:
            with transaction.atomic():
                plan = _record(op, seen[op.pk], now)
        except Exception:
            # One operation the portal cannot record (a defect, a constraint) must not stop the
            # tracking of the tenant's others: it is looked at again, later.
            log.exception("operation %s: recording what IES said failed", op.pk)
            plan = _Later(5.0, messages.CHECK_FAILED)
        if plan is not None:
            later[op.pk] = plan
    _write_later(later, lease, now)
    return len(claimed)


def _not_leased_after() -> timedelta:
    # A next look is never further off than MAX_DELAY_S; a look's lease always is (_poll_lease).
    return timedelta(seconds=timing.MAX_DELAY_S + 1)


def _too_young(op: Operation, now: datetime) -> float:
    """Seconds until `op` is old enough for a settled status to be believed; 0 once it is. An IES may
    take a moment after its 202 to show the service running: a few seconds (or the first look, if
    sooner), not the first look of a long operation (which may be half a minute away: a worker
    that starts meanwhile looks at once)."""
    if op.submitted_at is None:
        return 0.0
    first_look = timing.next_poll_delay(0.0, op.expected_seconds or timing.default_expectation().median_s)
    settle = min(first_look, timing.SETTLE_S)
    return max(0.0, settle - (now - op.submitted_at).total_seconds())


def _claim_for_look(pks: list[int], lease: datetime, condition: Q) -> list[Operation]:
    """Take these operations (those still matching `condition`) for this look; a new ticket each, so
    that of two looks that both see an end only the later claim finishes it."""
    if not Operation.objects.filter(condition, pk__in=pks, state=OperationState.PROCESSING).update(
            next_poll_at=lease, poll_ticket=F("poll_ticket") + 1):
        return []
    return list(Operation.objects.select_related("tenant", "requested_by")
                .filter(pk__in=pks, state=OperationState.PROCESSING, next_poll_at=lease))


# (kind, definition) → (when it was read, what history says): one read per few seconds per worker
# process, not one per look, while operations started on the default guess are in flight.
_history_memo: dict[tuple[str, str], tuple[float, timing.Expectation]] = {}
_HISTORY_MEMO_SECONDS = 5.0
# A running operation's expectation changes only on a few samples, not on one odd operation.
RELEARN_MIN_SAMPLES = 3


def _relearn(claimed: list[Operation], now: datetime) -> None:
    """An operation started before its kind had any history runs on the default guess; once others
    of its kind and definition have ended, its looks are placed by what those took."""
    guessing: dict[tuple[str, str], list[Operation]] = {}
    for op in claimed:
        if not op.expected_learned:
            guessing.setdefault((op.kind, op.definition_id), []).append(op)
    for (kind, definition_id), ops in guessing.items():
        read_at, expectation = _history_memo.get((kind, definition_id), (0.0, None))
        if expectation is None or time.monotonic() - read_at > _HISTORY_MEMO_SECONDS:
            expectation = expectation_for(kind=kind, definition_id=definition_id)
            _history_memo[(kind, definition_id)] = (time.monotonic(), expectation)
        if not expectation.learned or expectation.samples < RELEARN_MIN_SAMPLES:
            continue
        allowance = timing.give_up_after(expectation.median_s)
        Operation.objects.filter(pk__in=[op.pk for op in ops], expected_learned=False).update(
            expected_seconds=expectation.median_s, expected_p90_seconds=expectation.p90_s, expected_learned=True,
            give_up_at=ExpressionWrapper(F("submitted_at") + Value(allowance), output_field=DateTimeField()),
        )
        for op in ops:
            op.expected_seconds, op.expected_p90_seconds, op.expected_learned = (
                expectation.median_s, expectation.p90_s, True)
            op.give_up_at = (op.submitted_at or now) + allowance


def _watched(op: Operation) -> observe.Watched:
    return observe.Watched(
        pk=op.pk, kind=op.kind, ies_kind=IES_KIND[op.kind], service_id=op.ies_service_id,
        operation_id=op.ies_operation_id,
        expected_bandwidth_kbps=int((op.after or {})["bandwidth_kbps"]) if op.kind == OperationKind.MODIFY else None,
    )


def _record(op: Operation, seen: observe.Seen, now: datetime) -> _Later | None:
    """Act on what the look saw of `op`: finish or halt it (at once), or say when to look again."""
    elapsed = (now - op.submitted_at).total_seconds() if op.submitted_at else 0.0
    expected = op.expected_seconds or timing.default_expectation().median_s
    counts = _counts(seen.calls, looked=seen.calls > 0 or seen.listed_running)
    if seen.error is not None:
        if isinstance(seen.error, IESAuthError):
            _halt(op, OperationState.NEEDS_ATTENTION, messages.TOKEN_REFUSED_WHILE_WATCHING, counts=counts)
            return None
        # IES slow or down: nothing is known, so nothing changes; look again a bit later. A call the
        # circuit breaker refused never left: not a look at IES, not counted.
        log.info("operation %s: IES did not answer (%s)", op.pk, type(seen.error).__name__)
        return _Later(max(5.0, timing.next_poll_delay(elapsed, expected)), _unavailable_note(seen.error),
                      calls=seen.calls, looked=seen.calls > 0)
    if seen.done:
        return _conclude(op, seen, counts)
    if op.give_up_at and now > op.give_up_at:
        _halt(op, OperationState.STUCK, messages.STUCK, counts=counts)
        return None
    return _Later(timing.next_poll_delay(elapsed, expected), calls=seen.calls)


def _counts(calls: int, *, looked: bool = True) -> dict[str, Any]:
    counts: dict[str, Any] = {"polls": F("polls") + 1} if looked else {}
    if calls:
        counts["ies_calls"] = F("ies_calls") + calls
    return counts


def _unavailable_note(exc: IESError | None) -> str:
    if isinstance(exc, IESUnavailable):
        return messages.NO_ANSWER
    return messages.ERROR_ANSWER


def _write_later(later: dict[int, _Later], lease: datetime, now: datetime) -> None:
    """One UPDATE for every operation of the look that is still running (only those this look still
    holds: the lease is its mark)."""
    if not later:
        return
    pks = list(later)
    for start in range(0, len(pks), 200):  # bounded statements, whatever the tenant's backlog
        chunk = pks[start:start + 200]
        changes: dict[str, Any] = {
            "next_poll_at": Case(*[When(pk=pk, then=Value(now + timedelta(seconds=later[pk].delay)))
                                   for pk in chunk], output_field=DateTimeField()),
        }
        notes = {pk: later[pk].note for pk in chunk if later[pk].note}
        changes["message"] = (Case(*[When(pk=pk, then=Value(note)) for pk, note in notes.items()], default=Value(""),
                                   output_field=TextField()) if notes else Value(""))
        looked = [pk for pk in chunk if later[pk].looked]
        if looked:
            changes["polls"] = F("polls") + Case(When(pk__in=looked, then=Value(1)), default=Value(0))
        by_calls: dict[int, list[int]] = {}
        for pk in chunk:
            if later[pk].calls:
                by_calls.setdefault(later[pk].calls, []).append(pk)
        if by_calls:
            changes["ies_calls"] = F("ies_calls") + Case(
                *[When(pk__in=group, then=Value(calls)) for calls, group in by_calls.items()], default=Value(0))
        Operation.objects.filter(pk__in=chunk, state=OperationState.PROCESSING, next_poll_at=lease).update(**changes)


def _schedule_look(tenant_id: int) -> None:
    """Ask for the tenant's next look, at the earliest next look of its operations in flight."""
    next_at = (Operation.objects.filter(tenant_id=tenant_id, state=OperationState.PROCESSING)
               .aggregate(at=Min("next_poll_at"))["at"])
    if next_at is not None:
        _ask_for_look(tenant_id, next_at)


def _look_key(tenant_id: int) -> str:
    return f"operations:look:{tenant_id}"


def _ask_for_look(tenant_id: int, at: datetime, *, force: bool = False) -> None:
    """Send the tenant's look for `at`, unless one is already asked for by then (the cache notes the
    time of the pending one). Two askers at the same moment send one look (`cache.add`); a look sent
    twice anyway only finds nothing due. `force`: send whatever the cache says (the sweeper, whose
    look may have been lost with a worker or a wiped Redis)."""
    now_s = time.time()
    at_s = max(at.timestamp(), now_s)
    key = _look_key(tenant_id)
    if not force:
        pending = cache.get(key)
        # A look due up to a couple of seconds ago is presumably about to run (it ends by asking for
        # the next one itself).
        if isinstance(pending, float) and now_s - 2.0 <= pending <= at_s + 0.05:
            return
        if not _first_to_ask(_ask_key(tenant_id, at_s), int(at_s - now_s) + 30):
            return
    if dispatch.look(tenant_id, at_s, countdown=at_s - now_s):
        cache.set(key, at_s, timeout=int(at_s - now_s) + 60)


def _ask_key(tenant_id: int, at_s: float) -> str:
    # Asks for the same tenth of a second are one ask.
    return f"{_look_key(tenant_id)}:{int(at_s * 10)}"


def _first_to_ask(key: str, timeout: int) -> bool:
    """`cache.add`, failing open: with the cache unavailable nobody can tell who was first, and a
    look sent twice only finds nothing left to claim, while one sent by nobody stops the tracking."""
    return cache.add(key, 1, timeout=timeout) or cache.get(key) is None


def _look_started(tenant_id: int, eta: float | None) -> None:
    # The look asked for at `eta` is running: the next ask (its own, at its end, maybe for the same
    # tenth of a second) must not take it for a pending one.
    if eta is None:
        return
    cache.delete(_ask_key(tenant_id, eta))
    if cache.get(_look_key(tenant_id)) == eta:
        cache.delete(_look_key(tenant_id))


def _conclude(op: Operation, seen: observe.Seen, counts: dict[str, Any]) -> _Later | None:
    """IES says the operation is over: with the confirming read the deck makes, finish it."""
    status = seen.status
    assert status is not None
    if status.succeeded:
        if op.kind == OperationKind.DELETE:
            _finish(op, OperationState.SUCCEEDED, messages.DELETED, gone=True, ies_finished_at=status.finished_at, ies_started_at=status.started_at,
                    counts=counts)
            return None
        remote = seen.remote
        if remote is None:
            # Done at IES but unreadable right now: stay in flight, confirm at the next look.
            return _Later(5.0, _unavailable_note(seen.remote_error), calls=seen.calls)
        if op.kind == OperationKind.MODIFY and remote.bandwidth_kbps != int((op.after or {})["bandwidth_kbps"]):
            _finish(op, OperationState.FAILED, messages.BANDWIDTH_MISMATCH, remote=remote,
                    ies_finished_at=status.finished_at, ies_started_at=status.started_at, counts=counts)
            return None
        _finish(op, OperationState.SUCCEEDED, "", remote=remote, ies_finished_at=status.finished_at, ies_started_at=status.started_at, counts=counts)
        return None
    reason = status.reason or messages.NO_REASON
    if op.kind == OperationKind.CREATE and seen.remote_gone:
        _finish(op, OperationState.ROLLED_BACK, reason, ies_finished_at=status.finished_at, ies_started_at=status.started_at, counts=counts)
        return None
    _finish(op, OperationState.FAILED, reason, remote=seen.remote, ies_finished_at=status.finished_at, ies_started_at=status.started_at, counts=counts)
    return None


def _finish(op: Operation, state: str, message: str, *, remote: ies.Service | None = None,
            gone: bool = False, ies_finished_at: datetime | None = None, counts: dict[str, Any] | None = None,
            ies_started_at: datetime | None = None) -> None:
    """End the operation with its audit event and, through `operation_finished`, what the apps above
    record of it (the service mirror), all in one transaction: nobody reads one without the others.
    `remote`: the service as IES reported it at the end; `gone`: IES confirmed it no longer exists;
    `counts`: the look that saw the end, counted in the same UPDATE; `ies_started_at`: when IES says it
    started (with `ies_finished_at`, how long IES took)."""
    changes = {"state": state, "message": message, "finished_at": timezone.now(), "next_poll_at": None,
               **(counts or {})}
    if ies_started_at and ies_finished_at and ies_finished_at >= ies_started_at:
        changes["ies_duration_seconds"] = (ies_finished_at - ies_started_at).total_seconds()
    with transaction.atomic():
        if not _claim(op, [OperationState.QUEUED, OperationState.PROCESSING, *HALTED_STATES], **changes):
            return
        operation_finished.send(sender=Operation, operation=op, remote=remote, gone=gone,
                                 ies_finished_at=ies_finished_at)
        outcome = Outcome.SUCCEEDED if state == OperationState.SUCCEEDED else Outcome.FAILED
        audit_record(action=AUDIT_ACTION[op.kind], actor=op.requested_by, tenant=op.tenant, object_type="service",
                     object_id=op.ies_service_id, object_label=op.service_name, before=op.before, after=op.after,
                     outcome=outcome, message=message, operation=op, address=op.client_address)


def _halt(op: Operation, state: str, message: str, *, counts: dict[str, Any] | None = None) -> None:
    with transaction.atomic():
        if _claim(op, [OperationState.QUEUED, OperationState.PROCESSING], state=state, message=message,
                  next_poll_at=None, **(counts or {})):
            operation_halted.send(sender=Operation, operation=op)


# -- recovery ---------------------------------------------------------------------------------


def operations_sweep(now: datetime | None = None, *, worker_started: bool = False,
                     starting_worker: str = "") -> int:
    """Send again what is overdue (a lost task, a dead worker, a restarted Redis): each submission
    whose deadline passed (bumping its ticket retires any old reminder that might still wake up), and
    the look of each tenant with an operation more than `_late_grace` past its next look. Returns
    how many submissions and looks it sent.

    `worker_started`: a worker (`starting_worker`, see `worker_identity`) has just (re)started, so
    the reminders and looks a killed one held are lost; every operation being tracked is looked at
    again now rather than when its lease or reminder runs out. (With several workers, one being
    looked at by another worker at that moment is asked about once more: a read, once per worker
    start.) A submission keeps its lease unless its worker is known to be dead (`_dead_workers_submissions`):
    a second POST while the first is on its way would create the service twice."""
    now = now or timezone.now()
    revived = 0
    for pk, state, ticket in _overdue(now):
        revived += _revive(pk, state, ticket, now)
    revived += _revive_looks(now, worker_started=worker_started)
    if worker_started:
        for pk, ticket, leased_until in _dead_workers_submissions(now, starting_worker):
            # The dead worker's request may still be running at IES for as long as it would have
            # waited for the answer; after that, resubmitting (which reconciles first) is what a live
            # worker would have done after a timeout. Until then the lease is only cut short.
            settled_at = leased_until - _submit_grace() + _attempt_time()
            if settled_at <= now:
                revived += _revive(pk, OperationState.QUEUED, ticket, now, even_if_leased=True)
            else:
                Operation.objects.filter(pk=pk, state=OperationState.QUEUED, poll_ticket=ticket,
                                         next_poll_at=leased_until).update(next_poll_at=settled_at)
    return revived


def _overdue(now: datetime) -> list[tuple[int, str, int]]:
    """The submissions the sweep takes over: (pk, state, ticket) of each queued operation whose
    deadline passed."""
    return list(Operation.objects.filter(state=OperationState.QUEUED, next_poll_at__lt=now)
                .values_list("pk", "state", "poll_ticket")[:500])


def _revive(pk: int, state: str, ticket: int, now: datetime, *, even_if_leased: bool = False) -> int:
    """Take a queued operation over (1) unless someone moved it on since the sweep selected it (0).

    The claim is conditional on what the selection saw: the same state, the same ticket and (unless
    `even_if_leased`) a deadline still overdue. A submission that claimed it meanwhile took a new
    ticket and a later deadline (`operation_submit`): the sweep then sends nothing, and no second
    POST races the first."""
    claim = Operation.objects.filter(pk=pk, state=state, poll_ticket=ticket)
    if not even_if_leased:
        claim = claim.filter(next_poll_at__lt=now)
    if not claim.update(poll_ticket=ticket + 1, next_poll_at=now + _revive_grace()):
        return 0
    _enqueue_submit(pk, ticket + 1)
    return 1


def _revive_looks(now: datetime, *, worker_started: bool) -> int:
    """Send the look of each tenant whose operations at IES are overdue: at most once per
    `_revive_grace` per tenant (under a backlog the look sent waits its turn in the queue; sending it
    again each sweep would only lengthen the queue). After a worker start, everything is due now."""
    processing = Operation.objects.filter(state=OperationState.PROCESSING)
    if worker_started:
        processing.update(next_poll_at=now)
        tenants = set(processing.values_list("tenant_id", flat=True).distinct())
    else:
        late = Q(next_poll_at__lt=now - _late_grace()) | Q(next_poll_at__isnull=True)
        tenants = {tenant_id for tenant_id in processing.filter(late).values_list("tenant_id", flat=True).distinct()
                   if _first_to_ask(f"operations:look-revived:{tenant_id}", int(_revive_grace().total_seconds()))}
    for tenant_id in tenants:
        transaction.on_commit(partial(_ask_for_look, tenant_id, now, force=True))
    return len(tenants)


# -- who is submitting ------------------------------------------------------------------------
# A submission's lease (`_submit_grace`, about a minute) keeps the sweeper off it while its POST may
# be on the way. When the worker holding it was killed, a worker starting afterwards may resume it
# at once, but only when that worker is known to be dead: a submission in flight on a live worker
# is never duplicated (its POST may not have reached IES yet, so even reconciling first could not
# tell). Who holds each lease is kept in the cache, for as long as the lease.


def worker_identity(node: str, boot: str) -> str:
    """A worker process: its Celery node name and a token of this start of it (a node restarted
    under the same name is a new boot). Empty when the node is unknown (not run by a worker)."""
    return f"{node} {boot}" if node and boot else ""


def _lease_key(op_id: int) -> str:
    return f"operations:submitting:{op_id}"


def _lease_submission(op_id: int, holder: str) -> None:
    if not holder:
        return
    # With Redis down nothing is kept (portal.core.cache): an unknown holder, whose submission is
    # resumed when its lease runs out, as before.
    cache.set(_lease_key(op_id), holder, int(_submit_grace().total_seconds()) + 1)


def _release_submission(op_id: int, holder: str) -> None:
    if not holder:
        return
    cache.delete(_lease_key(op_id))


def _attempt_time() -> timedelta:
    # How long one submission's request may take before its worker gives up on the answer.
    return timedelta(seconds=settings.IES_CONNECT_TIMEOUT + settings.IES_READ_TIMEOUT)


def _dead_workers_submissions(now: datetime, starting_worker: str) -> list[tuple[int, int, datetime]]:
    """(pk, ticket, lease end) of each submission under lease whose worker is known to be dead: the
    same node as the one starting now but an earlier boot of it, or a node that does not answer a
    ping. A submission whose holder is unknown (no record, no answer from the broker) or alive keeps
    its lease."""
    leased = list(Operation.objects.filter(state=OperationState.QUEUED, next_poll_at__gte=now)
                  .values_list("pk", "poll_ticket", "next_poll_at")[:500])
    if not leased:
        return []
    holders: dict[str, Any] = cache.get_many([_lease_key(pk) for pk, _ticket, _until in leased])
    node, _, boot = starting_worker.partition(" ")
    live: set[str] | None = None
    dead = []
    for pk, ticket, leased_until in leased:
        holder = holders.get(_lease_key(pk))
        if not isinstance(holder, str) or holder == starting_worker or leased_until is None:
            continue
        holder_node = holder.partition(" ")[0]
        if holder_node == node and node and boot:
            dead.append((pk, ticket, leased_until))  # one process per node name: the old boot is gone
            continue
        if live is None:
            live = live_workers()  # asked once, and only when someone else's lease is in question
        if live is not None and holder_node not in live:
            dead.append((pk, ticket, leased_until))
    return dead


def operation_recheck(*, op: Operation, request: HttpRequest | None = None) -> bool:
    """A person asks to look again at a stuck (or token-blocked) operation."""
    if op.state not in HALTED_STATES:
        return False
    back_to = OperationState.PROCESSING if op.submitted_at else OperationState.QUEUED
    ticket = op.poll_ticket + 1
    now = timezone.now()
    # A submission is leased as the sweeper's deadline; a look at IES is simply due now.
    next_at = now + _submit_grace() if back_to == OperationState.QUEUED else now
    if not Operation.objects.filter(pk=op.pk, state=op.state, poll_ticket=op.poll_ticket).update(
        state=back_to, poll_ticket=ticket, message="", next_poll_at=next_at,
        # A fresh allowance before giving up again.
        give_up_at=timezone.now() + timing.give_up_after(op.expected_seconds or timing.default_expectation().median_s),
    ):
        return False
    if back_to == OperationState.QUEUED:
        _enqueue_submit(op.pk, ticket)
    else:
        transaction.on_commit(lambda: _ask_for_look(op.tenant_id, now, force=True))
    return True


def operation_mark_seen(*, op: Operation, user: User) -> None:
    """`user` has seen how `op` ended (its page showed the outcome). Only a finished operation has an
    outcome to see; seeing it twice changes nothing."""
    if op.finished_at is not None:
        OperationSeen.objects.bulk_create([OperationSeen(operation=op, user=user)], ignore_conflicts=True)


def operations_mark_all_seen(*, tenant: Tenant, user: User, up_to: datetime) -> None:
    """`user` has seen every outcome in `tenant` that finished by `up_to` (when their page was drawn:
    one that finished later is still news). Only this person's badge changes; the mark never moves back."""
    up_to = min(up_to, timezone.now())
    with transaction.atomic():
        mark, created = OperationsSeenMark.objects.get_or_create(user=user, tenant=tenant,
                                                                 defaults={"finished_up_to": up_to})
        if not created:
            OperationsSeenMark.objects.filter(pk=mark.pk, finished_up_to__lt=up_to).update(finished_up_to=up_to)
        # The mark covers these now: the rows would only grow the table.
        OperationSeen.objects.filter(user=user, operation__tenant=tenant, operation__finished_at__lte=up_to).delete()
