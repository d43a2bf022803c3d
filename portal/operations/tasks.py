"""Celery reminders. The database row is the truth; each task only asks "look again".

Registered under the names in dispatch.py, by which the rest of the code and the beat schedule ask
for them (services.py never imports this module: it is the one that calls services.py).
"""

import uuid
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready

from portal.operations import dispatch, services

# This start of this worker process (its pool's threads or forked children share it): a node name
# restarted after a kill -9 is a new boot, so the submissions the old boot held are known to be lost.
BOOT = uuid.uuid4().hex[:16]


@shared_task(name=dispatch.SUBMIT, bind=True, acks_late=True, ignore_result=True)
def submit_operation(self: Task, op_id: int, ticket: int) -> None:
    services.operation_submit(op_id, ticket, holder=services.worker_identity(self.request.hostname or "", BOOT))


@shared_task(name=dispatch.TRACK, acks_late=True, ignore_result=True)
def track_operation(op_id: int, ticket: int) -> None:
    services.operation_poll(op_id, ticket)


@shared_task(name=dispatch.LOOK, acks_late=True, ignore_result=True)
def look_at_tenant(tenant_id: int, eta: float | None = None) -> int:
    return services.operations_look(tenant_id, eta)


@shared_task(name=dispatch.SWEEP, ignore_result=True)
def sweep_operations(worker_started: bool = False, starting_worker: str = "") -> int:
    return services.operations_sweep(worker_started=worker_started, starting_worker=starting_worker)


@worker_ready.connect(weak=False, dispatch_uid="operations.sweep_at_worker_start")
def sweep_at_worker_start(**kwargs: Any) -> None:
    """A worker that (re)starts sweeps at once: what a killed one held is resumed now, not at the
    beat's next sweep (which may itself have died with the worker, when beat runs inside it)."""
    node = getattr(kwargs.get("sender"), "hostname", "") or ""
    sweep_operations.apply_async(kwargs={"worker_started": True,
                                         "starting_worker": services.worker_identity(node, BOOT)})
