"""Celery reminders. The database row is the truth; each task only asks "look again".

Registered under the names in dispatch.py, by which the rest of the code and the beat schedule ask
for them (services.py never imports this module: it is the one that calls services.py).
"""

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from portal.operations import dispatch, services


@shared_task(name=dispatch.SUBMIT, acks_late=True, ignore_result=True)
def submit_operation(op_id: int, ticket: int) -> None:
    services.operation_submit(op_id, ticket)


@shared_task(name=dispatch.TRACK, acks_late=True, ignore_result=True)
def track_operation(op_id: int, ticket: int) -> None:
    services.operation_poll(op_id, ticket)


@shared_task(name=dispatch.SWEEP, ignore_result=True)
def sweep_operations(worker_started: bool = False) -> int:
    return services.operations_sweep(worker_started=worker_started)


@worker_ready.connect(weak=False, dispatch_uid="operations.sweep_at_worker_start")
def sweep_at_worker_start(**kwargs: Any) -> None:
    """A worker that (re)starts sweeps at once: what a killed one held is resumed now, not at the
    beat's next sweep (which may itself have died with the worker, when beat runs inside it)."""
    sweep_operations.apply_async(kwargs={"worker_started": True})
