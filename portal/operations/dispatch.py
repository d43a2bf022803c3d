"""The operations app's Celery tasks, asked for by name.

The state machine (services.py) never imports tasks.py, which calls it: it sends the task's name
and the worker runs tasks.py. The names are the ones tasks.py registers and the beat schedule uses.
Callers that write to the database send after commit (`transaction.on_commit`), so that a worker
never looks for a row it cannot see yet.
"""

from celery import current_app

SUBMIT = "operations.submit"
TRACK = "operations.track"
SWEEP = "operations.sweep"


def submit(op_id: int, ticket: int, *, countdown: float | None = None) -> None:
    """Ask a worker to send the operation to IES."""
    current_app.send_task(SUBMIT, (op_id, ticket), countdown=countdown)


def track(op_id: int, ticket: int, *, countdown: float | None = None) -> None:
    """Ask a worker to look at the operation at IES once (after `countdown` seconds)."""
    current_app.send_task(TRACK, (op_id, ticket), countdown=countdown)
