"""Celery reminders. The database row is the truth; each task only asks "look again"."""

from celery import shared_task

from portal.operations import services


@shared_task(name="operations.submit", acks_late=True, ignore_result=True)
def submit_operation(op_id: int, ticket: int) -> None:
    services.operation_submit(op_id, ticket)


@shared_task(name="operations.track", acks_late=True, ignore_result=True)
def track_operation(op_id: int, ticket: int) -> None:
    services.operation_poll(op_id, ticket)


@shared_task(name="operations.sweep", ignore_result=True)
def sweep_operations() -> int:
    return services.operations_sweep()
