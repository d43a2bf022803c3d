"""A service's history: IES's operation log merged with the portal's own records, one line per
operation (a pure function: no database, no IES)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from ies_client import models as ies
from portal.operations.models import Operation, OperationKind, OperationState
from portal.services.queries import merge_history
from portal.services.status_words import RUNNING

T0 = datetime(2026, 5, 7, 14, 0, tzinfo=UTC)


def remote(op_id: str, kind: str, minutes: int, *, done: bool = True, result: str = "success", reason: str = ""):
    return ies.Operation(operation_id=op_id, service_id="svc", kind=kind, done=done, result=result if done else None,
                         reason=reason, started_at=T0 + timedelta(minutes=minutes))


def ours(ies_id: str, minutes: int, *, who: str | None = "own1", state=OperationState.SUCCEEDED,
         kind=OperationKind.MODIFY, message: str = "", finished_at: datetime | None = None) -> Operation:
    op = Operation(ies_operation_id=ies_id, kind=kind, state=state, message=message,
                   created_at=T0 + timedelta(minutes=minutes), finished_at=finished_at)
    if who:
        op.requested_by = User(username=who)
    return op


def lines(entries) -> list[tuple]:
    return [(e.at, e.kind, e.outcome, e.reason, e.who, e.operation is not None) for e in entries]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(("remote_ops", "our_ops", "expected"), [
    pytest.param([], [], [], id="nothing"),
    pytest.param(
        [remote("c1", "Create", 0)], [],
        [(at(0), "Create", "success", "", "", False)],
        id="made-outside-the-portal: IES's line, nobody named"),
    pytest.param(
        [remote("u1", "Update", 10, done=False)], [ours("u1", 9)],
        [(at(10), "Update", RUNNING, "", "own1", True)],
        id="one-operation-both-sides: one line, who from the portal, what from IES"),
    pytest.param(
        [remote("u1", "Update", 10, result="failed", reason="no capacity")], [ours("u1", 9, who=None)],
        [(at(10), "Update", "failed", "no capacity", "", True)],
        id="IES's outcome and reason win"),
    pytest.param(
        [remote("c1", "Create", 0)], [ours("", 20, state=OperationState.QUEUED, message="sending")],
        [(at(20), "Change bandwidth", OperationState.QUEUED, "sending", "own1", True),
         (at(0), "Create", "success", "", "", False)],
        id="not-yet-at-IES: the portal's line, newest first"),
    pytest.param(
        [remote("d1", "Delete", 10, done=False)],
        [ours("d1", 9, kind=OperationKind.DELETE, message="deleted", finished_at=at(12))],
        [(at(10), "Delete", OperationState.SUCCEEDED, "deleted", "own1", True)],
        id="IES's log-fetched-while-running, ended-since: the portal's newer word"),
    pytest.param(
        [], [ours("gone", 5, state=OperationState.FAILED, message="refused")],
        [(at(5), "Change bandwidth", OperationState.FAILED, "refused", "own1", True)],
        id="IES-forgot-it: the portal's record stays"),
])
def test_merge_history(remote_ops, our_ops, expected):
    assert lines(merge_history(remote_ops, our_ops)) == expected
