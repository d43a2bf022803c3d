"""What a person is shown about an operation: phase, time, a progress estimate, the outcome."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.operations import timing
from portal.operations.models import IN_FLIGHT_STATES, Operation, OperationKind, OperationState
from portal.operations.selectors import Badge


def operation_fields(op: Operation) -> dict[str, Any]:
    """The operation as the API and webhooks show it (GET /api/v1/operations/{id}; times as datetimes)."""
    requested_by = op.actor_name or (op.requested_by.get_username() if op.requested_by_id and op.requested_by else "")
    return {
        "id": op.pk, "kind": op.kind, "state": op.state, "done": op.state not in IN_FLIGHT_STATES,
        "service_id": op.ies_service_id, "service_name": op.service_name, "before": op.before, "after": op.after,
        "message": op.message, "requested_by": requested_by, "created_at": op.created_at,
        "submitted_at": op.submitted_at, "finished_at": op.finished_at, "expected_seconds": op.expected_seconds,
    }


@dataclass(frozen=True)
class OperationView:
    op: Operation
    phase: str
    percent: int
    elapsed_s: float
    expected_end: datetime | None
    late: bool
    learned: bool
    polling: bool  # the page should keep refreshing
    poll_seconds: int = 2  # how often: every second near the expected end, so the outcome shows at once

    @property
    def elapsed_text(self) -> str:
        seconds = int(self.elapsed_s)
        return f"{seconds // 60}:{seconds % 60:02d}"


def _phase(op: Operation) -> str:
    if op.state == OperationState.QUEUED:
        return _("Sending the request to IES")
    if op.state == OperationState.PROCESSING:
        return {
            OperationKind.CREATE: _("IES is creating and activating the connection"),
            OperationKind.MODIFY: _("IES is changing the bandwidth"),
            OperationKind.DELETE: _("IES is deleting the service"),
        }[OperationKind(op.kind)]
    if op.state == OperationState.SUCCEEDED:
        return {
            OperationKind.CREATE: _("The connection is active"),
            OperationKind.MODIFY: _("IES confirms the new bandwidth"),
            OperationKind.DELETE: _("The service is deleted"),
        }[OperationKind(op.kind)]
    if op.state == OperationState.ROLLED_BACK:
        return _("IES could not create the service and removed what it had made")
    if op.state == OperationState.FAILED:
        return _("IES could not complete the operation")
    if op.state == OperationState.STUCK:
        return _("IES has not finished in far longer than usual")
    return _("The portal cannot reach IES with this tenant's token")


def present(op: Operation, now: datetime | None = None) -> OperationView:
    now = now or timezone.now()
    expected = op.expected_seconds or timing.default_expectation().median_s
    p90 = op.expected_p90_seconds or expected * 1.2
    if op.state == OperationState.PROCESSING:
        progress = timing.estimate_progress(started_at=op.submitted_at, now=now, expected_s=expected, p90_s=p90)
        percent, elapsed, end, late = progress.percent, progress.elapsed_s, progress.expected_end, progress.late
    else:
        start = op.submitted_at or op.created_at
        stop = op.finished_at or now
        elapsed = max(0.0, (stop - start).total_seconds())
        percent = 100 if op.state == OperationState.SUCCEEDED else 0
        end, late = None, False
    near_end = op.state == OperationState.PROCESSING and elapsed >= 0.8 * expected
    return OperationView(op=op, phase=_phase(op), percent=percent, elapsed_s=elapsed, expected_end=end, late=late,
                         learned=op.expected_learned, polling=op.in_flight, poll_seconds=1 if near_end else 2)


def badge_oob(request: HttpRequest, badge: Badge, *, carried: bool) -> str:
    """The header badge as an out-of-band swap, appended to a fragment of the same response.

    ``carried``: the fragment keeps polling and brings the badge each time, so the badge does not
    poll by itself (its own poll could land between two of the fragment's and contradict it).
    """
    return render_to_string("base.html#ops-badge",
                            {"ops_badge": badge, "ops_badge_oob": True, "ops_badge_carried": carried}, request)
