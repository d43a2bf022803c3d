"""Celery reminders. The database row is the truth; each task only asks "look again".

Registered under the names in dispatch.py, by which the rest of the code and the beat schedule ask
for them (services.py never imports this module: it is the one that calls services.py).
"""

from celery import shared_task

from portal.operations import dispatch, services


@shared_task(name=dispatch.SUBMIT, acks_late=True, ignore_result=True)
def submit_operation(op_id: int, ticket: int) -> None:
    services.operation_submit(op_id, ticket)


@shared_task(name=dispatch.TRACK, acks_late=True, ignore_result=True)
def track_operation(op_id: int, ticket: int) -> None:
    services.operation_poll(op_id, ticket)


@shared_task(name=dispatch.SWEEP, ignore_result=True)
def sweep_operations() -> int:
    return services.operations_sweep()
