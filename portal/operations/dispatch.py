"""The operations app's Celery tasks, asked for by name.

The state machine (services.py) never imports tasks.py, which calls it: it sends the task's name
and the worker runs tasks.py. The names are the ones tasks.py registers and the beat schedule uses.
Callers that write to the database send after commit (`transaction.on_commit`), so that a worker
never looks for a row it cannot see yet.

A send never raises: with the broker down the operation stays as recorded (its `next_poll_at` set
before the send) and the sweeper sends it again once the broker is back. So a page that starts an
operation answers, and the operation shows as queued meanwhile.
"""

from portal.core.dispatch import send_task_or_defer

SUBMIT = "operations.submit"
TRACK = "operations.track"
LOOK = "operations.look"
SWEEP = "operations.sweep"


def submit(op_id: int, ticket: int, *, countdown: float | None = None) -> bool:
    """Ask a worker to send the operation to IES. False: not sent, the sweeper will."""
    return send_task_or_defer(SUBMIT, (op_id, ticket), countdown=countdown)


def track(op_id: int, ticket: int, *, countdown: float | None = None) -> bool:
    """Ask a worker to look at the operation's tenant now, the operation included (what a portal
    that tracked operations one by one queued; still served). False: not sent, the sweeper will."""
    return send_task_or_defer(TRACK, (op_id, ticket), countdown=countdown)


def look(tenant_id: int, eta: float, *, countdown: float | None = None) -> bool:
    """Ask a worker to look at IES for the tenant's operations that are due (after `countdown`
    seconds; `eta` tells the look which ask it answers). False: not sent, the sweeper will."""
    return send_task_or_defer(LOOK, (tenant_id, eta), countdown=countdown)
