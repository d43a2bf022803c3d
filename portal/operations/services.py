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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
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
from portal.operations import dispatch, messages, timing
from portal.operations.models import (
    HALTED_STATES,
    Operation,
    OperationKind,
    OperationSeen,
    OperationsSeenMark,
    OperationState,
)
from portal.operations.selectors import expectation_for
from portal.operations.signals import operation_finished
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
    # How late a reminder may start before the sweeper sends another. Short, so that the polls a
    # killed worker held are resumed within seconds of a worker (and the sweeper) running again; safe,
    # because a look at IES begins by claiming the operation (`_claim_poll`): a reminder that wakes
    # after the sweeper took over finds a newer ticket and asks IES nothing.
    return timedelta(seconds=max(5.0, settings.OPERATION_SWEEP_SECONDS))


def _revive_grace() -> timedelta:
    # A reminder the sweeper just sent is given longer to start: under a backlog it waits its turn
    # in the queue, and sending it again each sweep would only lengthen the queue.
    return 3 * _late_grace()


def _poll_lease() -> timedelta:
    # While a look at IES is under way (the status, then the service to confirm the end, each with
    # its retries), the sweeper leaves the operation alone: a slow IES is not asked twice.
    one_call = (settings.IES_CONNECT_TIMEOUT + settings.IES_READ_TIMEOUT) * (settings.IES_RETRIES + 1)
    return timedelta(seconds=2 * one_call + 10)


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
) -> Operation:
    """Record that a person asked for a change; the submission runs in a task after commit."""
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
        client_address=client_address(request),
        # Until the submission starts (it then claims the time it needs): a reminder lost with a
        # worker is sent again within seconds.
        next_poll_at=now + _late_grace(),
    )
    audit_record(action=AUDIT_ACTION[kind], actor=requested_by, tenant=tenant, object_type="service",
                 object_id=op.ies_service_id, object_label=op.service_name, before=before, after=after,
                 outcome=Outcome.REQUESTED, request=request, operation=op)
    _enqueue_submit(op.pk, op.poll_ticket)
    return op


def _enqueue_submit(op_id: int, ticket: int) -> None:
    transaction.on_commit(lambda: dispatch.submit(op_id, ticket))


def _enqueue_track(op_id: int, ticket: int, delay: float) -> None:
    transaction.on_commit(lambda: dispatch.track(op_id, ticket, countdown=delay))


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
              next_poll_at=now + timedelta(seconds=delay) + _late_grace()):
        if op.order is not None and not op.order.ies_service_id:
            type(op.order).objects.filter(pk=op.order.pk).update(ies_service_id=result.service_id, field_errors={})
        _enqueue_track(op.pk, op.poll_ticket, delay)


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


def operation_poll(op_id: int, ticket: int) -> None:
    """Look at IES once, record what it said, and schedule the next look (or finish)."""
    now = timezone.now()
    if not _claim_poll(op_id, ticket, now):
        return
    try:
        op = Operation.objects.select_related("tenant").get(pk=op_id)
    except Operation.DoesNotExist:
        return
    if op.state != OperationState.PROCESSING or op.poll_ticket != ticket:
        return
    elapsed = (now - op.submitted_at).total_seconds() if op.submitted_at else 0.0
    expected = op.expected_seconds or timing.default_expectation().median_s
    try:
        client = ies_for_tenant(op.tenant)
        status = client.operation_status(
            op.ies_service_id, op.ies_operation_id or "unknown", IES_KIND[op.kind],
            expected_bandwidth_kbps=int((op.after or {})["bandwidth_kbps"]) if op.kind == OperationKind.MODIFY else None,
        )
    except TenantNotConfigured:
        _halt(op, OperationState.NEEDS_ATTENTION, messages.NO_TOKEN)
        return
    except IESAuthError:
        _count_poll(op)
        _halt(op, OperationState.NEEDS_ATTENTION, messages.TOKEN_REFUSED_WHILE_WATCHING)
        return
    except IESError as exc:
        # IES slow or down: nothing is known, so nothing changes; look again a bit later.
        log.info("operation %s: IES did not answer (%s)", op.pk, type(exc).__name__)
        # A call the circuit breaker refused never left: not a look at IES, not counted.
        _schedule_next(op, max(5.0, timing.next_poll_delay(elapsed, expected)), note=_unavailable_note(exc),
                       poll_made=not isinstance(exc, IESCircuitOpen))
        return
    if status.done:
        _count_poll(op)
        _conclude(op, status)
        return
    if op.give_up_at and now > op.give_up_at:
        _count_poll(op)
        _halt(op, OperationState.STUCK, messages.STUCK)
        return
    _schedule_next(op, timing.next_poll_delay(elapsed, expected), poll_made=True)


def _claim_poll(op_id: int, ticket: int, now: datetime) -> bool:
    """Take the operation for one look at IES, if this reminder still owns it (its ticket is the
    current one): the sweeper leaves it alone for the length of the look, and a reminder the sweeper
    replaced meanwhile (a late one, or one a dead worker held) asks IES nothing."""
    return bool(Operation.objects.filter(pk=op_id, state=OperationState.PROCESSING, poll_ticket=ticket)
                .update(next_poll_at=now + _poll_lease()))


def _count_poll(op: Operation) -> None:
    Operation.objects.filter(pk=op.pk).update(polls=F("polls") + 1, ies_calls=F("ies_calls") + 1)


def _unavailable_note(exc: IESError) -> str:
    if isinstance(exc, IESUnavailable):
        return messages.NO_ANSWER
    return messages.ERROR_ANSWER


def _schedule_next(op: Operation, delay: float, note: str = "", *, poll_made: bool = False) -> None:
    """`poll_made`: count the look at IES just made in the same UPDATE (the commonest poll costs one
    UPDATE, not two: with hundreds of operations in flight, polls are most of the worker's work)."""
    next_at = timezone.now() + timedelta(seconds=delay)
    counts = {"polls": F("polls") + 1, "ies_calls": F("ies_calls") + 1} if poll_made else {}
    changed = Operation.objects.filter(pk=op.pk, state=OperationState.PROCESSING, poll_ticket=op.poll_ticket).update(
        next_poll_at=next_at + _late_grace(), message=note, **counts
    )
    if not changed and poll_made:
        _count_poll(op)  # another chain owns the operation now; the call was still made
    if changed:
        dispatch.track(op.pk, op.poll_ticket, countdown=delay)


def _conclude(op: Operation, status: ies.Operation) -> None:
    """IES says the operation is over: confirm the result the way the deck does, then finish."""
    client = ies_for_tenant(op.tenant)
    remote: ies.Service | None
    if status.succeeded:
        if op.kind == OperationKind.DELETE:
            _finish(op, OperationState.SUCCEEDED, messages.DELETED, gone=True, ies_finished_at=status.finished_at)
            return
        try:
            remote = client.get_service(op.ies_service_id)
        except IESError as exc:
            # Done at IES but unreadable right now: stay in flight, confirm at the next poll.
            _schedule_next(op, 5.0, note=_unavailable_note(exc))
            return
        if op.kind == OperationKind.MODIFY and remote.bandwidth_kbps != int((op.after or {})["bandwidth_kbps"]):
            _finish(op, OperationState.FAILED, messages.BANDWIDTH_MISMATCH, remote=remote, ies_finished_at=status.finished_at)
            return
        _finish(op, OperationState.SUCCEEDED, "", remote=remote, ies_finished_at=status.finished_at)
        return
    reason = status.reason or messages.NO_REASON
    if op.kind == OperationKind.CREATE:
        try:
            remote = client.get_service(op.ies_service_id)
        except IESNotFound:
            _finish(op, OperationState.ROLLED_BACK, reason, ies_finished_at=status.finished_at)
            return
        except IESError:
            remote = None
        _finish(op, OperationState.FAILED, reason, remote=remote, ies_finished_at=status.finished_at)
        return
    try:
        remote = client.get_service(op.ies_service_id)
    except IESError:
        remote = None
    _finish(op, OperationState.FAILED, reason, remote=remote, ies_finished_at=status.finished_at)


def _finish(op: Operation, state: str, message: str, *, remote: ies.Service | None = None,
            gone: bool = False, ies_finished_at: datetime | None = None) -> None:
    """End the operation with its audit event and, through `operation_finished`, what the apps above
    record of it (the service mirror), all in one transaction: nobody reads one without the others.
    `remote`: the service as IES reported it at the end; `gone`: IES confirmed it no longer exists."""
    changes = {"state": state, "message": message, "finished_at": timezone.now(), "next_poll_at": None}
    with transaction.atomic():
        if not _claim(op, [OperationState.QUEUED, OperationState.PROCESSING, *HALTED_STATES], **changes):
            return
        operation_finished.send(sender=Operation, operation=op, remote=remote, gone=gone,
                                 ies_finished_at=ies_finished_at)
        outcome = Outcome.SUCCEEDED if state == OperationState.SUCCEEDED else Outcome.FAILED
        audit_record(action=AUDIT_ACTION[op.kind], actor=op.requested_by, tenant=op.tenant, object_type="service",
                     object_id=op.ies_service_id, object_label=op.service_name, before=op.before, after=op.after,
                     outcome=outcome, message=message, operation=op, address=op.client_address)


def _halt(op: Operation, state: str, message: str) -> None:
    _claim(op, [OperationState.QUEUED, OperationState.PROCESSING], state=state, message=message, next_poll_at=None)


# -- recovery ---------------------------------------------------------------------------------


def operations_sweep(now: datetime | None = None, *, worker_started: bool = False,
                     starting_worker: str = "") -> int:
    """Re-enqueue every in-flight operation whose next look is overdue (lost task, dead worker,
    restarted Redis). Bumping the ticket retires any old chain that might still wake up.

    `worker_started`: a worker (`starting_worker`, see `worker_identity`) has just (re)started, so
    the reminders and looks a killed one held are lost; every operation being tracked is looked at
    again now rather than when its lease or reminder runs out. (With several workers, one being
    looked at by another worker at that moment is asked about once more: a read, once per worker
    start.) A submission keeps its lease unless its worker is known to be dead (`_dead_workers_submissions`):
    a second POST while the first is on its way would create the service twice."""
    now = now or timezone.now()
    revived = 0
    for pk, state, ticket in _overdue(now, worker_started=worker_started):
        # Only a look at an operation already at IES may be taken over before its deadline.
        revived += _revive(pk, state, ticket, now, even_if_leased=worker_started and state == OperationState.PROCESSING)
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


def _overdue(now: datetime, *, worker_started: bool = False) -> list[tuple[int, str, int]]:
    """What the sweep takes over: (pk, state, ticket) of each operation in flight whose deadline
    passed (and, when a worker has just started, of each one at IES being tracked)."""
    in_flight = Operation.objects.filter(state__in=[OperationState.QUEUED, OperationState.PROCESSING])
    due = Q(next_poll_at__lt=now)
    if worker_started:
        due |= Q(state=OperationState.PROCESSING)
    return list(in_flight.filter(due).values_list("pk", "state", "poll_ticket")[:500])


def _revive(pk: int, state: str, ticket: int, now: datetime, *, even_if_leased: bool = False) -> int:
    """Take the operation over (1) unless someone moved it on since the sweep selected it (0).

    The claim is conditional on what the selection saw: the same state, the same ticket and (unless
    `even_if_leased`) a deadline still overdue. A submission that claimed it meanwhile took a new
    ticket and a later deadline (`operation_submit`), a look at IES a later deadline
    (`_claim_poll`): the sweep then sends nothing, and no second POST races the first."""
    claim = Operation.objects.filter(pk=pk, state=state, poll_ticket=ticket)
    if not even_if_leased:
        claim = claim.filter(next_poll_at__lt=now)
    if not claim.update(poll_ticket=ticket + 1, next_poll_at=now + _revive_grace()):
        return 0
    if state == OperationState.QUEUED:
        _enqueue_submit(pk, ticket + 1)
    else:
        _enqueue_track(pk, ticket + 1, 0)
    return 1


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
    if not Operation.objects.filter(pk=op.pk, state=op.state, poll_ticket=op.poll_ticket).update(
        state=back_to, poll_ticket=ticket, message="", next_poll_at=timezone.now() + _submit_grace(),
        # A fresh allowance before giving up again.
        give_up_at=timezone.now() + timing.give_up_after(op.expected_seconds or timing.default_expectation().median_s),
    ):
        return False
    if back_to == OperationState.QUEUED:
        _enqueue_submit(op.pk, ticket)
    else:
        _enqueue_track(op.pk, ticket, 0)
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
