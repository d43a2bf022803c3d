"""The webhooks app's Celery task names, and the sends its services make by name (never importing
tasks.py). A send never raises: with the broker down, the sweeper (`webhooks.sweep`) sends later."""

from portal.core.dispatch import send_task_or_defer

DELIVER = "webhooks.deliver"
SWEEP = "webhooks.sweep"


def deliver(delivery_id: int, *, countdown: float | None = None) -> bool:
    """Ask a worker to send one delivery (after ``countdown`` seconds)."""
    return send_task_or_defer(DELIVER, (delivery_id,), countdown=countdown)
