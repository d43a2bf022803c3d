"""The policies app's Celery task names, and the sends the engine makes by name (it never imports
tasks.py). A send never raises: with the broker down, the beat's tick still comes."""

from portal.core.dispatch import send_task_or_defer

RUN_DUE = "policies.run_due"
PLAN_AHEAD = "policies.plan_ahead"
AUTOSCALE = "policies.autoscale"


def run_due(*, countdown: float) -> bool:
    """Ask a worker to start the changes due by then (after ``countdown`` seconds)."""
    return send_task_or_defer(RUN_DUE, (), countdown=countdown)
